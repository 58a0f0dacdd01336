using System.Runtime.CompilerServices;
using LlmAdapt.Diagnostics;
using LlmAdapt.Preference.Feedback;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Preference;

/// <summary>
/// Middleware that asks the inner client for n candidate responses (at most <see cref="BestOfNOptions.MaxConcurrency"/>
/// at a time), scores them with an <see cref="IResponseScorer"/> (a reward model) and returns the best one. Every
/// candidate's score, the candidates' text and the chosen index ride in the response's
/// <see cref="ChatResponse.AdditionalProperties"/> (keys on <see cref="BestOfNOptions"/>); usage is the sum over all
/// candidates, since all of them were paid for. Ties go to the earliest candidate. When the caller sets
/// <see cref="ChatOptions.Seed"/>, candidate i samples with that seed + i, so the n candidates differ and are reproducible. Add it with
/// <c>UseBestOfN(...)</c> on a <see cref="ChatClientBuilder"/>. With <see cref="BestOfNOptions.RecordRankings"/>, each
/// request's candidates and scores are also appended to an <see cref="IFeedbackStore"/> (not when there is one
/// candidate or a score is not finite); a store that fails is logged as an error and does not fail the request, whose
/// answer was already paid for (cancellation still cancels it).
/// </summary>
public sealed partial class BestOfNChatClient : DelegatingChatClient
{
    private const string CandidatesTag = "llmadapt.best_of_n.candidates";
    private const string IndexTag = "llmadapt.best_of_n.index";
    private const string ScoreTag = "llmadapt.best_of_n.score";
    private readonly IResponseScorer _scorer;
    private readonly BestOfNOptions _options;
    private readonly ILogger _logger;
    private readonly IFeedbackStore? _feedback;

    /// <summary>Initializes the middleware.</summary>
    /// <param name="innerClient">The client that generates candidates.</param>
    /// <param name="scorer">Scores candidates.</param>
    /// <param name="options">How many candidates, and how many at once.</param>
    /// <param name="logger">Logs the scores (content only at Trace), or <see langword="null"/>.</param>
    /// <param name="feedbackStore">Where candidates are recorded when <see cref="BestOfNOptions.RecordRankings"/> is set, or <see langword="null"/>.</param>
    /// <exception cref="InvalidOptionsException">The options are out of range; every problem is listed.</exception>
    /// <exception cref="ArgumentException">Rankings are to be recorded and no store is given.</exception>
    public BestOfNChatClient(IChatClient innerClient, IResponseScorer scorer, BestOfNOptions? options = null, ILogger<BestOfNChatClient>? logger = null, IFeedbackStore? feedbackStore = null)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        options ??= new BestOfNOptions();
        options.Validate();
        if (options.RecordRankings && feedbackStore is null)
        {
            throw new ArgumentException($"{nameof(BestOfNOptions)}.{nameof(BestOfNOptions.RecordRankings)} is set but no {nameof(IFeedbackStore)} was given.", nameof(feedbackStore));
        }

        _scorer = scorer;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _feedback = options.RecordRankings ? feedbackStore : null;
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var conversation = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var candidateOptions = options?.Clone() ?? new ChatOptions();
        candidateOptions.Temperature ??= _options.Temperature;

        // One span for the choice, a child per candidate (each the parent of the inner client's span) and one for scoring.
        using var span = LlmAdaptTelemetry.ActivitySource.StartActivity("best_of_n");
        span?.SetTag(CandidatesTag, _options.N);

        var candidates = new ChatResponse[_options.N];
        using (var gate = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency))
        {
            var tasks = new Task[_options.N];
            for (var i = 0; i < _options.N; i++)
            {
                var index = i;
                tasks[i] = Task.Run(
                    async () =>
                    {
                        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                        try
                        {
                            using var candidate = LlmAdaptTelemetry.ActivitySource.StartActivity("best_of_n.candidate");
                            candidate?.SetTag(IndexTag, index);
                            candidates[index] = await base.GetResponseAsync(conversation, OptionsFor(candidateOptions, index), cancellationToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            gate.Release();
                        }
                    },
                    cancellationToken);
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        var texts = candidates.Select(c => c.Text).ToArray();
        IReadOnlyList<double> scores;
        using (LlmAdaptTelemetry.ActivitySource.StartActivity("best_of_n.score"))
        {
            scores = await _scorer.ScoreAsync(conversation, texts, cancellationToken).ConfigureAwait(false);
        }

        if (scores.Count != texts.Length)
        {
            throw new LlmAdaptException($"The scorer returned {scores.Count} scores for {texts.Length} candidates.");
        }

        var best = 0;
        for (var i = 1; i < scores.Count; i++)
        {
            if (scores[i] > scores[best] || double.IsNaN(scores[best]))
            {
                best = i;
            }
        }

        LogChosen(_logger, best, _options.N, scores[best]);
        span?.SetTag(IndexTag, best);
        span?.SetTag(ScoreTag, scores[best]);
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            LogCandidates(_logger, string.Join(" | ", texts.Select((t, i) => $"[{i}] {scores[i]:G4}: {t}")));
        }

        var chosen = candidates[best];
        var usage = new UsageDetails();
        foreach (var c in candidates)
        {
            if (c.Usage is { } u)
            {
                usage.Add(u);
            }
        }

        chosen.Usage = usage;
        chosen.AdditionalProperties ??= [];
        chosen.AdditionalProperties[BestOfNOptions.ScoresKey] = scores.ToArray();
        chosen.AdditionalProperties[BestOfNOptions.ChosenIndexKey] = best;
        chosen.AdditionalProperties[BestOfNOptions.CandidatesKey] = texts;
        if (_feedback is not null)
        {
            chosen.ResponseId ??= Guid.NewGuid().ToString("N");
            await RecordAsync(chosen.ResponseId, conversation, texts, scores, cancellationToken).ConfigureAwait(false);
        }

        return chosen;
    }

    /// <summary>Streams the chosen response once every candidate has been generated and scored (a choice needs all of them).</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="options">The chat options.</param>
    /// <param name="cancellationToken">Stops generation.</param>
    /// <returns>The chosen response's updates.</returns>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <summary>
    /// With a caller's seed, candidate i samples with seed + i: reproducible, yet n different draws (one seed for all
    /// would make n copies of one answer).
    /// </summary>
    private static ChatOptions OptionsFor(ChatOptions shared, int index)
    {
        if (shared.Seed is not long seed || index == 0)
        {
            return shared;
        }

        var own = shared.Clone();
        own.Seed = unchecked(seed + index);
        return own;
    }

    private async Task RecordAsync(string responseId, IReadOnlyList<ChatMessage> conversation, string[] texts, IReadOnlyList<double> scores, CancellationToken cancellationToken)
    {
        if (texts.Length < 2 || scores.Any(s => !double.IsFinite(s)))
        {
            return;
        }

        var record = FeedbackRecord.RankedByScores(responseId, DialogueText.PromptOf(conversation), texts, scores.ToArray()) with { Source = "best-of-n" };
        try
        {
            await _feedback!.AppendAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRecordFailed(_logger, ex, responseId);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Best-of-n could not record the candidates of response {ResponseId}.")]
    private static partial void LogRecordFailed(ILogger logger, Exception exception, string responseId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Best-of-n chose candidate {Index} of {N} with score {Score}.")]
    private static partial void LogChosen(ILogger logger, int index, int n, double score);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Best-of-n candidates: {Candidates}")]
    private static partial void LogCandidates(ILogger logger, string candidates);
}
