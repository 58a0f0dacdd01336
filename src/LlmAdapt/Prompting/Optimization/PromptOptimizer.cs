using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LlmAdapt.Prompting.Internal;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Prompting.Optimization;

/// <summary>
/// Searches for a better instruction in the manner of OPRO (Yang et al., 2023) and APE (Zhou et al., 2022). The seed
/// instructions are scored first; without seeds, the model is first shown dev-set input/output pairs and asked what
/// instruction produced them (APE's induction), and those answers are the seeds. Each round, a meta-prompt shows the model the best <c>KeepTopK</c> instructions so
/// far with their scores (lowest first) and a few dev-set examples, and asks for a new instruction between
/// <c>&lt;INS&gt;</c> and <c>&lt;/INS&gt;</c>; up to <c>CandidatesPerRound</c> such proposals are made (fewer
/// where the calls left under <c>MaxModelCalls</c> would not score them all), and each new one is
/// scored on the whole dev set (the instruction as the system message, the input as the user message, the metric
/// against the expected output). The search stops at the target score, after <c>Patience</c> rounds without a better
/// score, after <c>MaxRounds</c>, or before any step that would go over <c>MaxModelCalls</c>. For a given seed and a
/// deterministic model the history is the same on every run: calls are issued concurrently but results are used
/// in a fixed order. A reply without tags is
/// taken whole as the instruction when it is at most 2,000 characters; blank replies, empty tags and longer untagged
/// replies are skipped, never thrown.
/// </summary>
public sealed partial class PromptOptimizer
{
    private readonly PromptOptimizerOptions _options;
    private readonly ILogger _logger;

    /// <summary>Initializes the optimiser.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="logger">Logs progress; instructions and examples only at Trace.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public PromptOptimizer(PromptOptimizerOptions options, ILogger? logger = null)
    {
        OptionsValidator.ThrowIfInvalid(options, "Prompt optimizer");
        if (options.SeedInstructions.Any(s => s is null))
        {
            throw new ArgumentException("A seed instruction is null.", nameof(options));
        }

        _options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Gets the options this optimizer runs with (for the tests of its registration).</summary>
    internal PromptOptimizerOptions Options => _options;

    /// <summary>Runs the search.</summary>
    /// <param name="chatClient">The model whose instruction is optimised; it also writes the proposals.</param>
    /// <param name="devSet">The labelled examples every instruction is scored on; at least one.</param>
    /// <param name="progress">Told after every instruction scored.</param>
    /// <param name="cancellationToken">Stops the search.</param>
    /// <returns>The best instruction (empty when none could be scored), its score and the full history.</returns>
    /// <exception cref="ArgumentException">The dev set is empty, or the call budget cannot score even the first seed (the message gives both numbers).</exception>
    public async Task<PromptOptimizationResult> OptimizeAsync(
        IChatClient chatClient, IReadOnlyList<PromptExample> devSet, IProgress<PromptOptimizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatClient);
        CheckDevSet(devSet);
        if (_options.MaxModelCalls < devSet.Count)
        {
            throw new ArgumentException($"Scoring one instruction takes {devSet.Count} calls (one per dev example) but the call budget is {_options.MaxModelCalls}.", nameof(devSet));
        }

        var ledger = new ModelCallLedger(chatClient, _logger, nameof(PromptOptimizer), _options.MaxModelCalls);
        var history = new List<ScoredInstruction>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        ScoredInstruction? best = null;
        var round = 0;
        var stalled = 0;
        OptimizationStopReason? stop = null;

        async Task<bool> TryScoreAsync(string instruction, int inRound)
        {
            if (!seen.Add(Key(instruction)))
            {
                return false;
            }

            if (ledger.Remaining < devSet.Count)
            {
                stop = OptimizationStopReason.CallBudget;
                return false;
            }

            var score = await ScoreCoreAsync(ledger, instruction, devSet, cancellationToken).ConfigureAwait(false);
            var scored = new ScoredInstruction(instruction, score, inRound);
            history.Add(scored);
            var improved = best is null || score > best.Score;
            if (improved)
            {
                best = scored;
            }

            _logger.LogDebug("Round {Round}: scored {Score:F3} (best {Best:F3}, {Calls}/{Budget} calls).", inRound, score, best!.Score, ledger.Calls, _options.MaxModelCalls);
            progress?.Report(new PromptOptimizationProgress(inRound, ledger.Calls, _options.MaxModelCalls, scored, best));
            if (best.Score >= _options.TargetScore)
            {
                stop = OptimizationStopReason.TargetReached;
            }

            return improved;
        }

        IEnumerable<string?> seeds = _options.SeedInstructions;
        if (_options.SeedInstructions.Count == 0)
        {
            var inductions = Math.Min(_options.CandidatesPerRound, ledger.Remaining / (1 + devSet.Count));
            seeds = inductions == 0 ? [] : await InduceAsync(ledger, devSet, inductions, cancellationToken).ConfigureAwait(false);
        }

        foreach (var seed in seeds)
        {
            if (seed is not null)
            {
                await TryScoreAsync(seed, 0).ConfigureAwait(false);
            }

            if (stop is not null)
            {
                break;
            }
        }


        while (stop is null)
        {
            if (round >= _options.MaxRounds)
            {
                stop = OptimizationStopReason.MaxRounds;
                break;
            }

            // A proposal is only worth its call if it can be scored after it.
            var proposals = Math.Min(_options.CandidatesPerRound, ledger.Remaining / (1 + devSet.Count));
            if (proposals == 0)
            {
                stop = OptimizationStopReason.CallBudget;
                break;
            }

            round++;
            var candidates = await ProposeAsync(ledger, history, devSet, round, proposals, cancellationToken).ConfigureAwait(false);
            var improved = false;
            foreach (var candidate in candidates)
            {
                if (candidate is not null)
                {
                    improved |= await TryScoreAsync(candidate, round).ConfigureAwait(false);
                }

                if (stop is not null)
                {
                    break;
                }
            }

            stalled = improved ? 0 : stalled + 1;
            if (stop is null && stalled >= _options.Patience)
            {
                stop = OptimizationStopReason.NoImprovement;
            }
        }

        return new PromptOptimizationResult
        {
            BestInstruction = best?.Instruction ?? string.Empty,
            BestScore = best?.Score ?? 0,
            History = history,
            ModelCalls = ledger.Calls,
            Rounds = round,
            StopReason = stop!.Value,
        };
    }

    /// <summary>Scores one instruction on a dev set the way the search does: one call per example, the mean metric.</summary>
    /// <param name="chatClient">The model.</param>
    /// <param name="instruction">The instruction (the system message; empty for none).</param>
    /// <param name="devSet">The labelled examples; at least one.</param>
    /// <param name="cancellationToken">Stops the scoring.</param>
    /// <returns>The mean score, from 0 to 1.</returns>
    public Task<double> ScoreAsync(IChatClient chatClient, string instruction, IReadOnlyList<PromptExample> devSet, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatClient);
        ArgumentNullException.ThrowIfNull(instruction);
        CheckDevSet(devSet);
        return ScoreCoreAsync(new ModelCallLedger(chatClient, _logger, nameof(PromptOptimizer)), instruction, devSet, cancellationToken);
    }

    /// <summary>Builds the meta-prompt text for the instructions scored so far.</summary>
    internal string MetaPrompt(IReadOnlyList<ScoredInstruction> history, IReadOnlyList<PromptExample> devSet)
    {
        var text = new StringBuilder();
        text.Append("Your job is to write the instruction a language model receives as its system message for this task: ")
            .Append(_options.TaskDescription!.Trim()).Append("\n\n");
        var shown = history
            .Select((h, i) => (h, i))
            .OrderByDescending(x => x.h.Score).ThenBy(x => x.i)
            .Take(_options.KeepTopK)
            .OrderBy(x => x.h.Score).ThenByDescending(x => x.i)
            .Select(x => x.h)
            .ToList();
        if (shown.Count > 0)
        {
            text.Append("Earlier instructions and their scores on a development set (0 to 100, higher is better), lowest first:\n\n");
        }

        foreach (var h in shown)
        {
            text.Append("<INS>").Append(h.Instruction).Append("</INS>\nScore: ")
                .Append(Math.Round(h.Score * 100, 1).ToString(CultureInfo.InvariantCulture)).Append("\n\n");
        }

        var examples = devSet.Take(_options.MetaPromptExamples).ToList();
        if (examples.Count > 0)
        {
            text.Append("Examples of the task (the model gets the input as the user message; the expected output follows):\n\n");
            foreach (var e in examples)
            {
                text.Append("Input: ").Append(e.Input).Append("\nExpected output: ").Append(e.Output).Append("\n\n");
            }
        }

        text.Append("Write a new instruction that differs from every instruction above and scores higher. Reply with the new instruction only, between <INS> and </INS>.");
        return text.ToString();
    }

    /// <summary>Builds the instruction-induction prompt (APE's first step) from the first dev-set pairs.</summary>
    internal string InductionPrompt(IReadOnlyList<PromptExample> devSet)
    {
        var text = new StringBuilder();
        text.Append("Someone was given one instruction and then a series of inputs, and wrote the output for each input by following the instruction. ")
            .Append("The task was: ").Append(_options.TaskDescription!.Trim()).Append("\n\nThe input/output pairs:\n\n");
        foreach (var e in devSet.Take(_options.InductionExamples))
        {
            text.Append("Input: ").Append(e.Input).Append("\nOutput: ").Append(e.Output).Append("\n\n");
        }

        text.Append("What was the instruction? Reply with the instruction only, between <INS> and </INS>.");
        return text.ToString();
    }

    private async Task<List<string?>> InduceAsync(ModelCallLedger ledger, IReadOnlyList<PromptExample> devSet, int count, CancellationToken cancellationToken)
    {
        var messages = new[] { new ChatMessage(ChatRole.User, InductionPrompt(devSet)) };
        var replies = await ForEachAsync(count, async j =>
        {
            var options = new ChatOptions { Temperature = _options.ProposalTemperature, Seed = _options.Seed + j };
            var response = await ledger.CallAsync(messages, options, cancellationToken).ConfigureAwait(false);
            return ParseProposal(response.Text);
        }, cancellationToken).ConfigureAwait(false);
        return [.. replies];
    }

    private async Task<List<string?>> ProposeAsync(ModelCallLedger ledger, IReadOnlyList<ScoredInstruction> history, IReadOnlyList<PromptExample> devSet, int round, int count, CancellationToken cancellationToken)
    {
        var messages = new[] { new ChatMessage(ChatRole.User, MetaPrompt(history, devSet)) };
        var replies = await ForEachAsync(count, async j =>
        {
            var options = new ChatOptions { Temperature = _options.ProposalTemperature, Seed = _options.Seed + (1000L * round) + j };
            var response = await ledger.CallAsync(messages, options, cancellationToken).ConfigureAwait(false);
            return ParseProposal(response.Text);
        }, cancellationToken).ConfigureAwait(false);
        return [.. replies];
    }

    private async Task<double> ScoreCoreAsync(ModelCallLedger ledger, string instruction, IReadOnlyList<PromptExample> devSet, CancellationToken cancellationToken)
    {
        var scores = await ForEachAsync(devSet.Count, async i =>
        {
            var messages = new List<ChatMessage>(2);
            if (instruction.Length > 0)
            {
                messages.Add(new ChatMessage(ChatRole.System, instruction));
            }

            messages.Add(new ChatMessage(ChatRole.User, devSet[i].Input));
            var options = new ChatOptions { Temperature = _options.EvaluationTemperature, Seed = _options.Seed };
            var response = await ledger.CallAsync(messages, options, cancellationToken).ConfigureAwait(false);
            var reply = response.Text ?? string.Empty;
            var answer = _options.Extractor is { } extractor ? (extractor.TryExtract(reply, out var a) ? a : string.Empty) : reply;
            return _options.Metric.Score(answer, devSet[i].Output);
        }, cancellationToken).ConfigureAwait(false);

        // Summed in example order so the score is the same whatever order the calls finished in.
        var sum = 0.0;
        foreach (var s in scores)
        {
            sum += s;
        }

        return sum / scores.Length;
    }

    private async Task<T[]> ForEachAsync<T>(int count, Func<int, Task<T>> body, CancellationToken cancellationToken)
    {
        var results = new T[count];
        using var gate = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                results[i] = await body(i).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        return results;
    }

    internal static string? ParseProposal(string? reply)
    {
        if (string.IsNullOrWhiteSpace(reply))
        {
            return null;
        }

        try
        {
            var matches = Tagged().Matches(reply);
            if (matches.Count > 0)
            {
                var inner = matches[^1].Groups[1].Value.Trim();
                return inner.Length > 0 ? inner : null;
            }
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }

        // No tags: take the reply itself when it looks like one instruction rather than an essay.
        var bare = reply.Replace("<INS>", string.Empty, StringComparison.OrdinalIgnoreCase).Replace("</INS>", string.Empty, StringComparison.OrdinalIgnoreCase).Trim();
        return bare.Length is > 0 and <= 2000 ? bare : null;
    }

    private static string Key(string instruction) => string.Join(' ', instruction.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToUpperInvariant();

    private static void CheckDevSet(IReadOnlyList<PromptExample> devSet)
    {
        ArgumentNullException.ThrowIfNull(devSet);
        if (devSet.Count == 0)
        {
            throw new ArgumentException("The dev set is empty.", nameof(devSet));
        }

        for (var i = 0; i < devSet.Count; i++)
        {
            if (devSet[i] is null || devSet[i].Input is null || devSet[i].Output is null)
            {
                throw new ArgumentException($"Dev example {i} is null or has no input or output.", nameof(devSet));
            }
        }
    }

    [GeneratedRegex("<INS>(.*?)</INS>", RegexOptions.Singleline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Tagged();
}
