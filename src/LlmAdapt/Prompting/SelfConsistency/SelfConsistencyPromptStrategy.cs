using LlmAdapt.Prompting.Internal;
using LlmAdapt.Prompting.Reasoning;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LlmAdapt.Prompting.SelfConsistency;

/// <summary>
/// Self-consistency (Wang et al., 2022): samples several reasoning paths for the same step-by-step prompt (the
/// messages of <see cref="StepByStepPromptStrategy"/>) at a temperature, at most <c>MaxConcurrency</c> at a time,
/// extracts and normalises each answer, and returns the majority. Samples without an answer do not vote. Ties go
/// to the answer whose first vote came from the earlier sample. When no sample gives an answer,
/// <see cref="PromptResult.Text"/> is empty and the agreement is 0; malformed output never throws.
/// </summary>
public sealed class SelfConsistencyPromptStrategy : IPromptStrategy
{
    /// <summary>The key in <see cref="PromptResult.AdditionalProperties"/> of the <see cref="SelfConsistencyVotes"/>.</summary>
    public const string VotesKey = "votes";

    private readonly SelfConsistencyPromptOptions _options;
    private readonly StrategyCore _core;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public SelfConsistencyPromptStrategy(string name, SelfConsistencyPromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
    {
        _core = new StrategyCore(name, options, tokenCounter, logger);
        _options = options;
    }

    /// <inheritdoc />
    public string Name => _core.Name;

    /// <inheritdoc />
    public async Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default)
    {
        var fitted = ReasoningPrompt.BuildFitted(_core, chatClient, request, _options);
        var n = _options.Samples;
        using var ledger = _core.Ledger(chatClient, maxCalls: n);
        var responses = new ChatResponse[n];
        using (var gate = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency))
        {
            var tasks = Enumerable.Range(0, n).Select(async i =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var options = request.ChatOptions?.Clone() ?? new ChatOptions();
                    options.Temperature = _options.Temperature;
                    if (_options.Seed is { } seed)
                    {
                        options.Seed = seed + i;
                    }

                    responses[i] = await ledger.CallAsync(fitted, options, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        var (votes, winnerIndex) = Tally(responses);
        return ledger.Result(votes.Answer ?? string.Empty, fitted, responses[winnerIndex], new() { [VotesKey] = votes });
    }

    private (SelfConsistencyVotes Votes, int WinnerSample) Tally(ChatResponse[] responses)
    {
        var answers = new string?[responses.Length];
        var counts = new Dictionary<string, (int Votes, int First, string Original)>(StringComparer.Ordinal);
        for (var i = 0; i < responses.Length; i++)
        {
            if (!_options.Extractor.TryExtract(responses[i].Text ?? string.Empty, out var answer))
            {
                continue;
            }

            answers[i] = answer;
            var key = _options.Normalizer(answer);
            counts[key] = counts.TryGetValue(key, out var c) ? (c.Votes + 1, c.First, c.Original) : (1, i, answer);
        }

        var ordered = counts.OrderByDescending(kv => kv.Value.Votes).ThenBy(kv => kv.Value.First).ToList();
        var winner = ordered.Count > 0 ? ordered[0] : default;
        var votes = new SelfConsistencyVotes
        {
            Answer = ordered.Count > 0 ? winner.Value.Original : null,
            Counts = [.. ordered.Select(kv => new KeyValuePair<string, int>(kv.Key, kv.Value.Votes))],
            Agreement = ordered.Count > 0 ? (double)winner.Value.Votes / responses.Length : 0,
            Samples = responses.Length,
            Unanswered = answers.Count(a => a is null),
            SampleAnswers = answers,
        };
        return (votes, ordered.Count > 0 ? winner.Value.First : 0);
    }
}
