using System.ComponentModel.DataAnnotations;
using LlmAdapt.Generation;
using LlmAdapt.Preference;
using LlmAdapt.Training.Dpo;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.FineTuning;

/// <summary>How <see cref="GenerationRewardEvaluator"/> samples: completions per prompt, their length and the seed.</summary>
public sealed class GenerationRewardOptions
{
    /// <summary>Gets or sets n, the completions sampled per prompt (best-of-n picks among them). 1 to 1,024; default 4.</summary>
    [Range(1, 1024)]
    public int SamplesPerPrompt { get; set; } = 4;

    /// <summary>Gets or sets the most tokens a completion may have (an end-of-sequence token counts). 1 to 4,096; default 32.</summary>
    [Range(1, 4096)]
    public int MaxNewTokens { get; set; } = 32;

    /// <summary>Gets or sets the sampling seed; the same seed, model and prompts give the same completions. Default 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Gets or sets how many completions are scored per forward pass for the log-probabilities. 1 to 1,024; default 16.</summary>
    [Range(1, 1024)]
    public int ScoringBatchSize { get; set; } = 16;

    /// <summary>Gets or sets the most threads the model's kernels use; 0 (the default) means every core. 0 to 1,024.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>Throws when an option is out of range, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">The options are invalid.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);
}

/// <summary>One sampled completion and what was measured on it.</summary>
/// <param name="PromptIndex">The prompt's index in the list evaluated.</param>
/// <param name="Completion">The completion's text (the end-of-sequence token not included).</param>
/// <param name="Reward">The scorer's reward for it.</param>
/// <param name="LogProb">log π(completion | prompt) under the model, summed over its tokens.</param>
/// <param name="ReferenceLogProb">The same under the reference, or <see langword="null"/> when there is none.</param>
/// <param name="Tokens">Its tokens, an end-of-sequence token that stopped it counted.</param>
/// <param name="EndOfSequence">Whether an end-of-sequence token ended it before the token limit.</param>
public sealed record GeneratedCompletion(int PromptIndex, string Completion, double Reward, double LogProb, double? ReferenceLogProb, int Tokens, bool EndOfSequence);

/// <summary>What <see cref="GenerationRewardEvaluator.EvaluateAsync"/> measured.</summary>
public sealed record GenerationRewardReport
{
    /// <summary>Gets the prompts evaluated.</summary>
    public required int Prompts { get; init; }

    /// <summary>Gets n, the completions sampled per prompt.</summary>
    public required int SamplesPerPrompt { get; init; }

    /// <summary>Gets the mean reward of one sampled completion (over every completion).</summary>
    public required double MeanReward { get; init; }

    /// <summary>Gets the standard error of <see cref="MeanReward"/>, from the spread of the prompts' mean rewards.</summary>
    public required double MeanRewardStandardError { get; init; }

    /// <summary>Gets the mean over prompts of the best of the n completions' rewards (best-of-n with the same scorer).</summary>
    public required double BestOfNReward { get; init; }

    /// <summary>
    /// Gets the sequence-level KL(π‖π_ref) estimated from the samples, the mean over completions of
    /// log π(y|x) − log π_ref(y|x) (they are drawn from π, so this is an unbiased estimate), or <see langword="null"/> without a reference.
    /// </summary>
    public double? KL { get; init; }

    /// <summary>Gets the standard error of <see cref="KL"/>, or <see langword="null"/> without a reference.</summary>
    public double? KLStandardError { get; init; }

    /// <summary>Gets distinct-2: distinct word bigrams over all bigrams of the completions (whitespace-split words, within each completion).</summary>
    public required double Distinct2 { get; init; }

    /// <summary>Gets the mean tokens per completion.</summary>
    public required double MeanTokens { get; init; }

    /// <summary>Gets the share of completions an end-of-sequence token ended before the limit.</summary>
    public required double EndOfSequenceRate { get; init; }

    /// <summary>Gets what the reference was: "base without adapter", a checkpoint path, or <see langword="null"/> for none.</summary>
    public string? Reference { get; init; }

    /// <summary>Gets every completion, prompt by prompt.</summary>
    public required IReadOnlyList<GeneratedCompletion> Completions { get; init; }

    /// <summary>Gets the completions that were empty or only whitespace.</summary>
    public required int EmptyCompletions { get; init; }

    /// <summary>
    /// Gets each prompt's non-empty completions as a ranking by reward (ties share a rank), ready for
    /// <see cref="RankingPairs"/>; a prompt with fewer than two non-empty completions has none.
    /// </summary>
    public required IReadOnlyList<Ranking> Rankings { get; init; }
}

/// <summary>How far <see cref="GenerationRewardEvaluator.EvaluateAsync"/> has got.</summary>
/// <param name="Completed">Prompts whose completions were sampled.</param>
/// <param name="Total">Prompts to sample.</param>
public sealed record GenerationProgress(int Completed, int Total);

/// <summary>
/// Samples n completions per prompt from a checkpoint or a LoRA adapter on its base (the engine's KV-cached sampler and
/// the engine's shared token sampler, at temperature 1 over the whole vocabulary, so the samples come from the
/// model's own distribution), scores them with an <see cref="IResponseScorer"/> (a classifier or a reward model), and
/// measures what the DPO paper's controlled-generation experiment reports: the mean reward of one sample, best-of-n
/// reward, the sequence-level KL against a reference model estimated from the samples, and distinct-2. The reference
/// of an adapter is its base with the adapter switched off (one copy of the weights), or any checkpoint given.
/// </summary>
public static class GenerationRewardEvaluator
{
    /// <summary>The <see cref="GenerationRewardReport.Reference"/> of an adapter measured against its own base.</summary>
    public const string AdapterOffReference = "base without adapter";

    /// <summary>Samples, scores and measures.</summary>
    /// <param name="model">A checkpoint folder or a LoRA adapter folder.</param>
    /// <param name="prompts">The prompts, continued as plain text (no chat template).</param>
    /// <param name="scorer">Scores the completions of each prompt (asked once per prompt, with the prompt as a user message).</param>
    /// <param name="options">Sampling options, or <see langword="null"/> for the defaults.</param>
    /// <param name="reference">
    /// The reference checkpoint for the KL, or <see langword="null"/>: then an adapter is measured against its base
    /// with the adapter off, and a checkpoint gets no KL.
    /// </param>
    /// <param name="progress">Receives prompts done, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops between tokens.</param>
    /// <returns>The measurements and every completion.</returns>
    /// <exception cref="ArgumentException">There are no prompts, or a prompt is empty or too long for the context with <see cref="GenerationRewardOptions.MaxNewTokens"/> (its index is named).</exception>
    /// <exception cref="InvalidOptionsException">The options are out of range.</exception>
    /// <exception cref="LlmAdaptException">The scorer returned the wrong number of scores.</exception>
    public static async Task<GenerationRewardReport> EvaluateAsync(string model, IReadOnlyList<string> prompts, IResponseScorer scorer, GenerationRewardOptions? options = null, string? reference = null, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(scorer);
        options ??= new GenerationRewardOptions();
        options.Validate();
        if (prompts.Count == 0)
        {
            throw new ArgumentException("There are no prompts to evaluate.", nameof(prompts));
        }

        var session = await DecoderSession.OpenAsync(model, null, 0, cancellationToken).ConfigureAwait(false);
        var policy = session.Model;
        policy.Threads = options.Threads;
        var tokenizer = session.Tokenizer;
        var encoded = new int[prompts.Count][];
        for (var i = 0; i < prompts.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(prompts[i]))
            {
                throw new ArgumentException($"Prompt #{i + 1} is empty.", nameof(prompts));
            }

            var ids = tokenizer.Encode(prompts[i]);
            if (tokenizer.BeginningOfText is { } bos)
            {
                ids = [bos, .. ids];
            }

            if (ids.Length + options.MaxNewTokens - 1 > policy.ContextLength)
            {
                throw new ArgumentException($"Prompt #{i + 1} has {ids.Length} tokens; with {options.MaxNewTokens} new tokens it does not fit the model's context of {policy.ContextLength}.", nameof(prompts));
            }

            encoded[i] = ids;
        }

        var referenceModel = reference is not null
            ? (await DecoderSession.OpenAsync(reference, null, 0, cancellationToken).ConfigureAwait(false)).Model
            : policy.Lora is not null ? policy : null;
        if (referenceModel is not null)
        {
            referenceModel.Threads = options.Threads;
        }

        var stops = new HashSet<int>(session.Config?.EosTokenIds ?? []) { tokenizer.EndOfText };
        var sampler = new TokenSampler(1.0, 0, 1.0, 1.0, options.Seed, policy.VocabSize);
        var n = options.SamplesPerPrompt;
        var sequences = new List<(int[] Prompt, int[] Response)>(prompts.Count * n);
        var texts = new List<string>(prompts.Count * n);
        var ended = new List<bool>(prompts.Count * n);
        var rewards = new double[prompts.Count * n];
        for (var i = 0; i < prompts.Count; i++)
        {
            var completions = new string[n];
            for (var k = 0; k < n; k++)
            {
                var (generated, endOfSequence) = DecoderSampler.Generate(policy, encoded[i], options.MaxNewTokens, sampler, stops, cancellationToken);
                sequences.Add((encoded[i], [.. generated]));
                completions[k] = tokenizer.Decode(endOfSequence ? generated.SkipLast(1) : generated);
                texts.Add(completions[k]);
                ended.Add(endOfSequence);
            }

            var scores = await scorer.ScoreAsync([new ChatMessage(ChatRole.User, prompts[i])], completions, cancellationToken).ConfigureAwait(false);
            if (scores.Count != n)
            {
                throw new LlmAdaptException($"The scorer returned {scores.Count} scores for {n} completions of prompt #{i + 1}.");
            }

            for (var k = 0; k < n; k++)
            {
                rewards[(i * n) + k] = scores[k];
            }

            progress?.Report(new GenerationProgress(i + 1, prompts.Count));
        }

        var logProbs = DpoPairs.ScoreSequences(policy, sequences, options.ScoringBatchSize, cancellationToken);
        double[]? referenceLogProbs = null;
        if (referenceModel is not null)
        {
            referenceModel.AdaptersDisabled = referenceModel.Lora is not null;
            try
            {
                referenceLogProbs = DpoPairs.ScoreSequences(referenceModel, sequences, options.ScoringBatchSize, cancellationToken);
            }
            finally
            {
                referenceModel.AdaptersDisabled = false;
            }
        }

        var records = new GeneratedCompletion[sequences.Count];
        for (var j = 0; j < records.Length; j++)
        {
            records[j] = new GeneratedCompletion(j / n, texts[j], rewards[j], logProbs[j], referenceLogProbs?[j], sequences[j].Response.Length, ended[j]);
        }

        var promptMeans = Enumerable.Range(0, prompts.Count).Select(i => rewards.AsSpan(i * n, n).ToArray().Average()).ToArray();
        var rankings = new List<Ranking>(prompts.Count);
        for (var i = 0; i < prompts.Count; i++)
        {
            // An empty completion is no response to learn from (pairs refuse it), so rankings leave it out.
            var kept = Enumerable.Range(i * n, n).Where(j => !string.IsNullOrWhiteSpace(texts[j])).ToArray();
            if (kept.Length >= 2)
            {
                var scores = kept.Select(j => rewards[j]).ToArray();
                rankings.Add(new Ranking { Prompt = prompts[i], Responses = kept.Select(j => texts[j]).ToArray(), Ranks = RanksOf(scores), Scores = scores, Origin = $"prompt #{i + 1}" });
            }
        }

        double? kl = null, klError = null;
        if (referenceLogProbs is not null)
        {
            var ratios = logProbs.Select((l, j) => l - referenceLogProbs[j]).ToArray();
            kl = ratios.Average();
            klError = StandardError(ratios);
        }

        return new GenerationRewardReport
        {
            Prompts = prompts.Count,
            SamplesPerPrompt = n,
            MeanReward = rewards.Average(),
            MeanRewardStandardError = StandardError(promptMeans),
            BestOfNReward = Enumerable.Range(0, prompts.Count).Average(i => rewards.AsSpan(i * n, n).ToArray().Max()),
            KL = kl,
            KLStandardError = klError,
            Distinct2 = DistinctBigrams(texts),
            MeanTokens = records.Average(r => r.Tokens),
            EndOfSequenceRate = records.Count(r => r.EndOfSequence) / (double)records.Length,
            Reference = reference is not null ? Path.GetFullPath(reference) : referenceModel is not null ? AdapterOffReference : null,
            EmptyCompletions = texts.Count(string.IsNullOrWhiteSpace),
            Completions = records,
            Rankings = rankings,
        };
    }

    /// <summary>
    /// Returns distinct-2 of <paramref name="texts"/>: the number of distinct word bigrams over the number of bigrams,
    /// words split on whitespace, bigrams taken within each text; 0 when no text has two words.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <returns>A value in [0, 1].</returns>
    public static double DistinctBigrams(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var distinct = new HashSet<(string, string)>();
        var total = 0;
        foreach (var text in texts)
        {
            var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            for (var i = 1; i < words.Length; i++)
            {
                distinct.Add((words[i - 1], words[i]));
                total++;
            }
        }

        return total == 0 ? 0 : distinct.Count / (double)total;
    }

    /// <summary>
    /// Cuts each text to its first k words, k drawn uniformly from [<paramref name="minWords"/>, <paramref name="maxWords"/>]
    /// with <paramref name="seed"/> (the DPO paper's prompts: the start of a review); a text with no more than k words
    /// is skipped (there is nothing to continue). Words are split on whitespace and joined with one space.
    /// </summary>
    /// <param name="texts">The texts, in order.</param>
    /// <param name="minWords">The fewest words kept; at least 1.</param>
    /// <param name="maxWords">The most words kept; at least <paramref name="minWords"/>.</param>
    /// <param name="seed">The seed of the draws (one per text, skipped texts included).</param>
    /// <returns>The prefixes, in the texts' order.</returns>
    public static IReadOnlyList<string> Prefixes(IEnumerable<string> texts, int minWords, int maxWords, int seed)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(minWords, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWords, minWords);
        var random = new Random(seed);
        var result = new List<string>();
        foreach (var text in texts)
        {
            var k = random.Next(minWords, maxWords + 1);
            var words = (text ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length > k)
            {
                result.Add(string.Join(' ', words.Take(k)));
            }
        }

        return result;
    }

    private static int[] RanksOf(ReadOnlySpan<double> scores)
    {
        var ranks = new int[scores.Length];
        for (var a = 0; a < scores.Length; a++)
        {
            for (var b = 0; b < scores.Length; b++)
            {
                if (scores[b] > scores[a])
                {
                    ranks[a]++;
                }
            }
        }

        return ranks;
    }

    private static double StandardError(IReadOnlyCollection<double> values)
    {
        if (values.Count < 2)
        {
            return 0;
        }

        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return Math.Sqrt(variance / values.Count);
    }
}
