using System.Diagnostics;
using LlmAdapt.Preference;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;
using Microsoft.ML;

namespace LlmAdapt.Benchmarks.Heads;

/// <summary>
/// `compare reward`: HH-RLHF harmless, train on the first 1,500 pairs, report pairwise accuracy on the last 300, side by
/// side with "shorter answer wins", "longer answer wins" and ML.NET's LbfgsLogisticRegression on embedding differences
/// (of the same features, and with --whole-dialogue also of the whole dialogue, as the peer was measured).
/// Settings are chosen on the last 150 of the 1,500 training pairs. Options: --features LIST, --whole-dialogue.
/// </summary>
internal static class RewardComparison
{
    private const string ModelId = "sentence-transformers/all-MiniLM-L6-v2";

    public static async Task<int> RunAsync(string[] args)
    {
        var all = await PreferenceDataReader.ReadPairsAsync(Data.PathOf("preference/hh-rlhf-harmless/pairs-1800.jsonl.gz"), limits: new PreferenceLimits { AllowEmptyResponses = true }).ConfigureAwait(false);
        var train = all.Take(1500).ToArray();
        var test = all.Skip(1500).ToArray();
        var fit = train[..1350];
        var select = train[1350..];
        var featureText = Array.IndexOf(args, "--features") is var f and >= 0 ? args[f + 1] : "response,prompt-response";
        var features = featureText.Split(',').Aggregate(RewardFeatures.None, (acc, name) => acc | name switch
        {
            "response" => RewardFeatures.Response,
            "prompt-response" => RewardFeatures.PromptAndResponse,
            "prompt" => RewardFeatures.Prompt,
            "length" => RewardFeatures.Length,
            "interaction" => RewardFeatures.Interaction,
            _ => throw new ArgumentException($"unknown feature {name}"),
        });

        using var store = new FeatureStore();
        var folder = Directory.CreateTempSubdirectory("llmadapt-compare-reward-").FullName;
        try
        {
            // Embed once through the cache; the trainer and the peer then read the same vectors.
            var clock = Stopwatch.StartNew();
            var featurizer = new RewardFeaturizer(store.Generator, features & ~RewardFeatures.Length, 500);
            var items = all.SelectMany(p => new[] { (p.Prompt, p.Chosen), (p.Prompt, p.Rejected) }).ToArray();
            var (rows, _) = await featurizer.FeaturesAsync(items, i => $"pair {i + 1}", new Progress<LlmAdapt.Training.Embeddings.EmbeddingProgress>(p =>
            {
                if (p.Completed % 1024 == 0 || p.Completed == p.Total)
                {
                    Console.Error.WriteLine($"embedding {p.Completed}/{p.Total}");
                }
            }), CancellationToken.None).ConfigureAwait(false);
            Console.WriteLine($"HH-RLHF: {train.Length} train (settings chosen on the last 150), {test.Length} test; features {features}; embedded in {clock.Elapsed.TotalSeconds:F0} s ({store.Misses:N0} computed)");

            if (args.Contains("--sweep"))
            {
                await RewardSweep.RunAsync(store.Generator, train, args).ConfigureAwait(false);
                return 0;
            }

            var shorter = PairwiseMetrics.LengthRule(test, shorterWins: true).Accuracy;
            var longer = PairwiseMetrics.LengthRule(test, shorterWins: false).Accuracy;
            Console.WriteLine($"  shorter answer wins: {shorter:F4}; longer answer wins: {longer:F4}");

            // LlmAdapt's reward model: a small grid, chosen on the selection pairs, then retrained on all 1,500.
            RewardModelOptions[] grid =
            [
                new() { Head = HeadKind.Linear, Features = features, LearningRate = 1e-3 },
                new() { Head = HeadKind.Mlp, Features = features },
                new() { Head = HeadKind.Mlp, Features = features | RewardFeatures.Length },
                new() { Head = HeadKind.Linear, Features = features | RewardFeatures.Length, LearningRate = 1e-3 },
            ];
            (RewardModelOptions Options, double Select) best = (grid[0], -1);
            foreach (var options in grid)
            {
                var path = Path.Combine(folder, "select");
                var artifact = await new RewardModelTrainer(store.Generator, options).TrainAsync(new() { TrainingPairs = fit, ValidationPairs = select, OutputPath = path }).ConfigureAwait(false);
                var accuracy = artifact.Report.Metrics["pairwise_accuracy"];
                Console.WriteLine($"  reward {options.Head} {options.Features}: selection accuracy {accuracy:F4} ({artifact.Report.History.Count} epochs, {artifact.Report.Duration.TotalSeconds:F1} s)");
                if (accuracy > best.Select)
                {
                    best = (options, accuracy);
                }
            }

            var final = await new RewardModelTrainer(store.Generator, best.Options).TrainAsync(new() { TrainingPairs = train, OutputPath = Path.Combine(folder, "final") }).ConfigureAwait(false);
            var model = await RewardModel.LoadAsync(final.Path, store.Generator).ConfigureAwait(false);
            var ours = (await model.EvaluateAsync(test).ConfigureAwait(false)).Accuracy;
            Console.WriteLine($"  reward model ({best.Options.Head}, {best.Options.Features}) trained on 1,500: test pairwise accuracy {ours:F4} ({final.Report.Duration.TotalSeconds:F1} s)");

            // The peer on the same embedding features: logistic regression on f(chosen) − f(rejected), both orientations.
            var peer = MlNetOnDifferences(rows, trainPairs: 1500, fitPairs: 1350, testStart: 1500, "same features");
            var line = FormattableString.Invariant($"reward_test_acc={ours:F4} mlnet_lr_diff_test_acc={peer:F4} shorter_wins={shorter:F4} longer_wins={longer:F4}");

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
