using System.Diagnostics;
using LlmAdapt.Preference;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;
using Microsoft.ML;

namespace LlmAdapt.Benchmarks.Heads;

/// <summary>
/// `compare reward`: HH-RLHF harmless, train on the first 1,500 pairs, report pairwise accuracy on the last 300 at seeds
/// 1–5 and 42 (mean and min; the default ensemble and a single head), side by side with "shorter answer wins", "longer
/// answer wins" and ML.NET's LbfgsLogisticRegression on embedding differences (of the same features, of the response
/// alone, and with --whole-dialogue of the whole dialogue, as the issue's peer was measured; its L2 is chosen on the last
/// 150 training pairs). The reward model's settings are the defaults, which `--sweep` chose by 5-fold cross-validation
/// on the 1,500 training pairs. Options: --features LIST, --whole-dialogue, --sweep,
/// --embedding-layers N, --embedding-pooling P and --embedding-normalize B (richer features for every model, ML.NET included).
/// </summary>
internal static class RewardComparison
{
    public static async Task<int> RunAsync(string[] args)
    {
        var all = await PreferenceDataReader.ReadPairsAsync(TestData.PathOf("preference/hh-rlhf-harmless/pairs-1800.jsonl.gz"), limits: new PreferenceLimits { AllowEmptyResponses = true }).ConfigureAwait(false);
        var train = all.Take(1500).ToArray();
        var test = all.Skip(1500).ToArray();
        var featureText = Array.IndexOf(args, "--features") is var f and >= 0 ? args[f + 1] : "response,prompt-response,prompt,interaction";
        var features = featureText.Split(',').Aggregate(RewardFeatures.None, (acc, name) => acc | name switch
        {
            "response" => RewardFeatures.Response,
            "prompt-response" => RewardFeatures.PromptAndResponse,
            "prompt" => RewardFeatures.Prompt,
            "length" => RewardFeatures.Length,
            "interaction" => RewardFeatures.Interaction,
            _ => throw new ArgumentException($"unknown feature {name}"),
        });

        using var store = new FeatureStore(args);
        var folder = Directory.CreateTempSubdirectory("llmadapt-compare-reward-").FullName;
        try
        {
            // Embed once through the cache; the trainer and the peer then read the same vectors.
            var clock = Stopwatch.StartNew();
            var featurizer = new RewardFeaturizer(store.Generator, features & ~RewardFeatures.Length, 500);
            // ML.NET's rows: the same features; the prompt's own embedding cancels in a difference, the rest does not.
            var items = all.SelectMany(p => new[] { (p.Prompt, p.Chosen), (p.Prompt, p.Rejected) }).ToArray();
            var (rows, _) = await featurizer.FeaturesAsync(items, i => $"pair {i + 1}", new Progress<LlmAdapt.Training.Embeddings.EmbeddingProgress>(p =>
            {
                if (p.Completed % 1024 == 0 || p.Completed == p.Total)
                {
                    Console.Error.WriteLine($"embedding {p.Completed}/{p.Total}");
                }
            }), CancellationToken.None).ConfigureAwait(false);
            Console.WriteLine($"HH-RLHF: {train.Length} train, {test.Length} test; features {features} of {store.ModelId} ({store.Dimensions}); embedded in {clock.Elapsed.TotalSeconds:F0} s ({store.Misses:N0} computed)");

            if (args.Contains("--sweep"))
            {
                await RewardSweep.RunAsync(store.Generator, train, args).ConfigureAwait(false);
                return 0;
            }

            var shorter = PairwiseMetrics.LengthRule(test, shorterWins: true).Accuracy;
            var longer = PairwiseMetrics.LengthRule(test, shorterWins: false).Accuracy;
            Console.WriteLine($"  shorter answer wins: {shorter:F4}; longer answer wins: {longer:F4}");

            // LlmAdapt's reward model with the settings 5-fold cross-validation on the 1,500 training pairs chose
            // (`--sweep`; the defaults of RewardModelOptions), trained on all 1,500 at several seeds; the single head
            // (no ensemble) beside it shows what the ensemble does to the spread.
            int[] seeds = [1, 2, 3, 4, 5, 42];
            async Task<double[]> AtSeedsAsync(RewardModelOptions options, string name)
            {
                var accuracies = new List<double>();
                foreach (var seed in seeds)
                {
                    var final = await new RewardModelTrainer(store.Generator, options).TrainAsync(new() { TrainingPairs = train, OutputPath = Path.Combine(folder, $"{name}-{seed}"), Seed = seed }).ConfigureAwait(false);
                    var model = await RewardModel.LoadAsync(final.Path, store.Generator).ConfigureAwait(false);
                    accuracies.Add((await model.EvaluateAsync(test).ConfigureAwait(false)).Accuracy);
                }

                Console.WriteLine(FormattableString.Invariant($"  {name} ({options.Head}, hidden {options.HiddenSize}, ensemble {options.EnsembleSize}, {options.Features}): test pairwise accuracy by seed {string.Join(", ", seeds.Zip(accuracies, (s, a) => $"{s}: {a:F4}"))}; mean {accuracies.Average():F4}, min {accuracies.Min():F4}"));
                return accuracies.ToArray();
            }

            var chosen = new RewardModelOptions { Features = features };
            var ours = await AtSeedsAsync(chosen, "reward model").ConfigureAwait(false);
            var single = await AtSeedsAsync(new RewardModelOptions { Features = features, EnsembleSize = 1 }, "single head").ConfigureAwait(false);

            // The peer on the same embedding features: logistic regression on f(chosen) − f(rejected), both orientations.
            var peer = MlNetOnDifferences(rows, trainPairs: 1500, fitPairs: 1350, testStart: 1500, "same features");
            var responseOnly = (await new RewardFeaturizer(store.Generator, RewardFeatures.Response, 500).FeaturesAsync(items, i => $"pair {i + 1}", null, CancellationToken.None).ConfigureAwait(false)).Rows;
            var peerResponse = MlNetOnDifferences(responseOnly, trainPairs: 1500, fitPairs: 1350, testStart: 1500, "response only");
            var line = FormattableString.Invariant($"reward_test_acc_mean={ours.Average():F4} reward_test_acc_min={ours.Min():F4} single_head_mean={single.Average():F4} single_head_min={single.Min():F4} mlnet_lr_diff_test_acc={peer:F4} mlnet_lr_diff_response_test_acc={peerResponse:F4} shorter_wins={shorter:F4} longer_wins={longer:F4}");

            if (args.Contains("--whole-dialogue"))
            {
                var whole = all.SelectMany(p => new[] { p.Prompt + p.Chosen, p.Prompt + p.Rejected }).ToArray();
                var vectors = await store.EmbedAsync(whole, "whole dialogues").ConfigureAwait(false);
                var dialogueRows = whole.Select(t => vectors[t]).ToArray();
                var wholePeer = MlNetOnDifferences(dialogueRows, 1500, 1350, 1500, "whole dialogue (the issue's peer)");
                line += FormattableString.Invariant($" mlnet_lr_whole_dialogue_test_acc={wholePeer:F4}");
            }

            Console.WriteLine(line);
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Rows are chosen, rejected, chosen, … per pair. Returns test pairwise accuracy with L2 chosen on the selection pairs.</summary>
    private static double MlNetOnDifferences(float[][] rows, int trainPairs, int fitPairs, int testStart, string what)
    {
        var pairs = rows.Length / 2;
        float[] Diff(int i, bool forward)
        {
            var (a, b) = forward ? (rows[2 * i], rows[(2 * i) + 1]) : (rows[(2 * i) + 1], rows[2 * i]);
            return a.Zip(b, (x, y) => x - y).ToArray();
        }

        (float[][] X, bool[] Y) Symmetric(IEnumerable<int> indices)
        {
            var list = indices.ToArray();
            return (list.SelectMany(i => new[] { Diff(i, true), Diff(i, false) }).ToArray(), list.SelectMany(_ => new[] { true, false }).ToArray());
        }

        double PairAccuracy(MLContext ml, Microsoft.ML.ITransformer model, IEnumerable<int> indices)
        {
            var list = indices.ToArray();
            var p = MlNetLogistic.Probabilities(ml, model, list.Select(i => Diff(i, true)).ToArray());
            return p.Count(x => x > 0.5f) / (double)list.Length;
        }

        var ml = new MLContext(seed: 0);
        (float L2, double Select) best = (0, -1);
        var fit = Symmetric(Enumerable.Range(0, fitPairs));
        foreach (var l2 in new[] { 0.1f, 1f, 10f, 100f })
        {
            var model = MlNetLogistic.Fit(ml, fit.X, fit.Y, l2);
            var accuracy = PairAccuracy(ml, model, Enumerable.Range(fitPairs, trainPairs - fitPairs));
            if (accuracy > best.Select)
            {
                best = (l2, accuracy);
            }
        }

        var full = Symmetric(Enumerable.Range(0, trainPairs));
        var clock = Stopwatch.StartNew();
        var final = MlNetLogistic.Fit(ml, full.X, full.Y, best.L2);
        var seconds = clock.Elapsed.TotalSeconds;
        var test = PairAccuracy(ml, final, Enumerable.Range(testStart, pairs - testStart));
        Console.WriteLine(FormattableString.Invariant($"  ML.NET LbfgsLogisticRegression on embedding differences, {what}: l2={best.L2} (selection {best.Select:F4}), test pairwise accuracy {test:F4}, fit {seconds:F1} s"));
        return test;
    }
}
