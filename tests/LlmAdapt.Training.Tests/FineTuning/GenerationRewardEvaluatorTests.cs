using LlmAdapt.Preference;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Gpt2;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Tests.FineTuning;

/// <summary>
/// Sampling, scoring and the KL estimate on a tiny GPT-2 (1 layer, 16 wide, GPT-2's vocabulary, random weights, seeds 1
/// and 5) and a LoRA adapter on it with random weights (seed 5). Prompts: 2–4-word prefixes (seed 7) of SST-2 dev sentences, lines 2–40 of
/// shared/data/classification/sst2/dev.tsv.
/// </summary>
public sealed class GenerationRewardEvaluatorTests
{
    private static IReadOnlyList<string> Prompts(int count) => GenerationRewardEvaluator.Prefixes(
        File.ReadLines(TestData.PathOf("classification/sst2/dev.tsv")).Skip(1).Take(39).Select(l => l.Split('\t')[0]), 2, 4, seed: 7).Take(count).ToArray();

    private static async Task<(string Base, string Adapter)> FixtureAsync()
    {
        // Weights larger than the initialisation's, so the next-token distributions are far from uniform.
        var baseDir = TestData.TempDirectory();
        var model = new Gpt2Model<float>(new Gpt2Config { Layers = 1, Heads = 2, Channels = 16, ContextLength = 32 });
        model.InitializeRandom(1);
        var random = new Random(5);
        var weights = model.Parameters.Span;
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] += (float)((random.NextDouble() - 0.5) * 0.6);
        }

        await DecoderCheckpoint.SaveAsync(model, baseDir, CancellationToken.None);
        var lora = model.AttachLora(new LoraOptions { Rank = 2, Alpha = 4 }, seed: 5);
        var values = lora.Parameters.Span;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() - 0.5) * 1.5);
        }

        var adapterDir = TestData.TempDirectory();
        await LoraAdapterFile.SaveAsync(model, adapterDir, baseDir, CancellationToken.None);
        return (baseDir, adapterDir);
    }

    /// <summary>A stand-in reward: the completion's length in characters (so the best of n is the longest).</summary>
    private sealed class LengthScorer : IResponseScorer
    {
        public int Calls { get; private set; }

        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default)
        {
            Calls++;
            return Task.FromResult<IReadOnlyList<double>>(candidates.Select(c => (double)c.Length).ToArray());
        }
    }

    [Fact]
    public async Task Samples_AreScoredAggregatedAndRanked_AndTheSameSeedRepeatsThem()
    {
        var (baseDir, _) = await FixtureAsync();
        var prompts = Prompts(3);
        var scorer = new LengthScorer();
        var options = new GenerationRewardOptions { SamplesPerPrompt = 4, MaxNewTokens = 6, Seed = 3 };
        var report = await GenerationRewardEvaluator.EvaluateAsync(baseDir, prompts, scorer, options);

        Assert.Equal(3, report.Prompts);
        Assert.Equal(3, scorer.Calls); // once per prompt, with its n completions
        Assert.Equal(12, report.Completions.Count);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], report.Completions.Select(c => c.PromptIndex));
        Assert.All(report.Completions, c =>
        {
            Assert.Equal(c.Completion.Length, c.Reward);
            Assert.InRange(c.Tokens, 1, 6);
            Assert.True(c.LogProb < 0);
            Assert.Null(c.ReferenceLogProb);
        });
        Assert.Equal(report.Completions.Average(c => c.Reward), report.MeanReward, 12);
        var best = report.Completions.GroupBy(c => c.PromptIndex).Average(g => g.Max(c => c.Reward));
        Assert.Equal(best, report.BestOfNReward, 12);
        Assert.True(report.BestOfNReward >= report.MeanReward);
        Assert.Equal(GenerationRewardEvaluator.DistinctBigrams(report.Completions.Select(c => c.Completion)), report.Distinct2);
        Assert.Equal(report.Completions.Average(c => c.Tokens), report.MeanTokens, 12);

        // A checkpoint alone has no reference: no KL.
        Assert.Null(report.KL);
        Assert.Null(report.Reference);

        // Rankings put the longest first, and every pair from them prefers the longer completion.
        Assert.NotEmpty(report.Rankings);
        foreach (var ranking in report.Rankings)
        {
            var top = ranking.Ranks.ToList().IndexOf(0);
            Assert.Equal(ranking.Scores!.Max(), ranking.Scores![top]);
        }

        var pairs = RankingPairs.ToPairs(report.Rankings, PairingStrategy.AllPairs);
        Assert.All(pairs, p => Assert.True(p.Chosen.Length > p.Rejected.Length, $"{p.Chosen} vs {p.Rejected}"));

        var again = await GenerationRewardEvaluator.EvaluateAsync(baseDir, prompts, new LengthScorer(), options);
        Assert.Equal(report.Completions, again.Completions);

        // The kernels' thread count changes nothing (every core by default, one thread here).
        var oneThread = await GenerationRewardEvaluator.EvaluateAsync(baseDir, prompts, new LengthScorer(), new GenerationRewardOptions { SamplesPerPrompt = 4, MaxNewTokens = 6, Seed = 3, Threads = 1 });
        Assert.Equal(report.Completions, oneThread.Completions);
        var other = await GenerationRewardEvaluator.EvaluateAsync(baseDir, prompts, new LengthScorer(), new GenerationRewardOptions { SamplesPerPrompt = 4, MaxNewTokens = 6, Seed = 4 });
        Assert.NotEqual(report.Completions.Select(c => c.Completion), other.Completions.Select(c => c.Completion));

        // Measured against itself the model is at KL 0 exactly.
        var self = await GenerationRewardEvaluator.EvaluateAsync(baseDir, prompts, new LengthScorer(), options, reference: baseDir);
        Assert.Equal(0, self.KL);
        Assert.Equal(Path.GetFullPath(baseDir), self.Reference);
    }

    [Fact]
    public async Task TheKlOfAnAdapter_MatchesTheExactKlOfItsNextTokenDistributions()
    {
        var (baseDir, adapterDir) = await FixtureAsync();
        var prompts = Prompts(2);
        var report = await GenerationRewardEvaluator.EvaluateAsync(adapterDir, prompts, new LengthScorer(), new GenerationRewardOptions { SamplesPerPrompt = 150, MaxNewTokens = 1, Seed = 11 });
        Assert.Equal(GenerationRewardEvaluator.AdapterOffReference, report.Reference);

        // The exact KL of one token: Σ_v p(v) (log p(v) − log q(v)) with p the adapter's and q the base's distribution.
        var model = await DecoderCheckpoint.LoadAsync(baseDir, CancellationToken.None);
        await LoraAdapterFile.LoadAsync(model, adapterDir, CancellationToken.None);
        var tokenizer = LlmAdapt.Training.Data.DecoderTokenizer.Gpt2;
        var exact = 0.0;
        for (var i = 0; i < prompts.Count; i++)
        {
            var logP = LastLogSoftmax(model, tokenizer.Encode(prompts[i]), adaptersOff: false);
            var logQ = LastLogSoftmax(model, tokenizer.Encode(prompts[i]), adaptersOff: true);
            var kl = logP.Select((lp, v) => Math.Exp(lp) * (lp - logQ[v])).Sum();
            exact += kl / prompts.Count;

            // Each sample's two log-probabilities are those of one token under the two distributions.
            foreach (var c in report.Completions.Where(c => c.PromptIndex == i).Take(20))
            {
                Assert.Contains(Enumerable.Range(0, logP.Length), v => Math.Abs(logP[v] - c.LogProb) < 1e-4 && Math.Abs(logQ[v] - c.ReferenceLogProb!.Value) < 1e-4);
            }
        }

        Assert.True(exact > 0.05, $"the random adapter should move the distribution (exact KL {exact})");
        Assert.True(Math.Abs(report.KL!.Value - exact) <= (4 * report.KLStandardError!.Value) + 1e-3, $"estimate {report.KL} ± {report.KLStandardError}, exact {exact}");
    }

    [Fact]
    public async Task BadInput_IsRefusedNamingThePrompt()
    {
        var (baseDir, _) = await FixtureAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => GenerationRewardEvaluator.EvaluateAsync(baseDir, [], new LengthScorer()));
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => GenerationRewardEvaluator.EvaluateAsync(baseDir, ["the film", " "], new LengthScorer(), new GenerationRewardOptions { MaxNewTokens = 4 }));
        Assert.Contains("Prompt #2", empty.Message, StringComparison.Ordinal);

        // The tiny model's context is 32: 5 prompt tokens and 30 new ones do not fit.
        var tooLong = await Assert.ThrowsAsync<ArgumentException>(() => GenerationRewardEvaluator.EvaluateAsync(baseDir, ["one two three four five"], new LengthScorer(), new GenerationRewardOptions { MaxNewTokens = 30 }));
        Assert.Contains("context of 32", tooLong.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOptionsException>(() => GenerationRewardEvaluator.EvaluateAsync(baseDir, ["the film"], new LengthScorer(), new GenerationRewardOptions { SamplesPerPrompt = 0 }));
        await Assert.ThrowsAsync<InvalidOptionsException>(() => GenerationRewardEvaluator.EvaluateAsync(baseDir, ["the film"], new LengthScorer(), new GenerationRewardOptions { Threads = -1 }));
        var wrong = await Assert.ThrowsAsync<LlmAdaptException>(() => GenerationRewardEvaluator.EvaluateAsync(baseDir, ["the film"], new OneScore(), new GenerationRewardOptions { SamplesPerPrompt = 2, MaxNewTokens = 2 }));
        Assert.Contains("1 scores for 2 completions of prompt #1", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prefixes_KeepTheFirstKWords_AndSkipLinesWithNoMore()
    {
        string[] lines = ["a b", "one two three four five six", "x  y   z w", "solo"];
        var prefixes = GenerationRewardEvaluator.Prefixes(lines, 2, 3, seed: 1);
        var again = GenerationRewardEvaluator.Prefixes(lines, 2, 3, seed: 1);
        Assert.Equal(prefixes, again);
        Assert.DoesNotContain("a b", prefixes);
        Assert.DoesNotContain("solo", prefixes);
        Assert.Contains(prefixes, p => p.StartsWith("one two", StringComparison.Ordinal));
        Assert.All(prefixes, p => Assert.InRange(p.Split(' ').Length, 2, 3));
        Assert.Equal(["one two three"], GenerationRewardEvaluator.Prefixes(lines, 3, 3, seed: 9).Take(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => GenerationRewardEvaluator.Prefixes(lines, 3, 2, 0));
    }

    [Fact]
    public void DistinctBigrams_CountsDistinctWordPairsWithinEachText()
    {
        // Bigrams: (a,b) (b,a) (a,b) | (a,b) (b,c) → 3 distinct of 5; a one-word text has none.
        Assert.Equal(0.6, GenerationRewardEvaluator.DistinctBigrams(["a b a b", "a b c", "single"]), 12);
        Assert.Equal(1.0, GenerationRewardEvaluator.DistinctBigrams(["the film is good", "a bad film"]), 12);
        Assert.Equal(0, GenerationRewardEvaluator.DistinctBigrams(["one", string.Empty]));
    }

    private static double[] LastLogSoftmax(DecoderModel<float> model, int[] tokens, bool adaptersOff)
    {
        model.AdaptersDisabled = adaptersOff;
        try
        {
            var cache = model.CreateCache();
            ReadOnlySpan<float> logits = default;
            for (var i = 0; i < tokens.Length; i++)
            {
                logits = model.DecodeStep(tokens[i], i, cache);
            }

            var row = logits.ToArray().Select(l => (double)l).ToArray();
            var max = row.Max();
            var log = Math.Log(row.Sum(l => Math.Exp(l - max))) + max;
            return row.Select(l => l - log).ToArray();
        }
        finally
        {
            model.AdaptersDisabled = false;
        }
    }

    private sealed class OneScore : IResponseScorer
    {
        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<double>>([1.0]);
    }
}
