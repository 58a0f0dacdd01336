using System.Diagnostics;
using LlmAdapt.Training;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Internal;
using Microsoft.ML;

namespace LlmAdapt.Benchmarks.Heads;

/// <summary>
/// `compare heads --sweep`: chooses head settings without test.tsv. Groups train.tsv's phrases by the sentence they come
/// from (<see cref="PhraseGroups"/>), holds out 20% of the sentences with all their phrases, trains each setting on the
/// rest and prints accuracy on the held-out phrases and on the held-out whole sentences (the test set's kind of text),
/// and on dev.tsv's sentences that are no span of a training phrase.
/// </summary>
internal static class HeadSweep
{
    public static async Task RunAsync(PrecomputedEmbeddingGenerator generator, TrainingExample[] train, IReadOnlyList<TrainingExample> dev, Dictionary<string, float[]> vectors, string[] args)
    {
        var clock = Stopwatch.StartNew();
        var roots = PhraseGroups.Assign(train.Select(e => e.Input).ToArray());
        var (fitIndex, heldIndex) = PhraseGroups.Split(roots, 0.2, new Random(0));
        var fit = fitIndex.Select(i => train[i]).ToArray();
        var held = heldIndex.Select(i => train[i]).ToArray();
        var heldSentences = heldIndex.Where(i => roots[i] == i).Select(i => train[i]).ToArray();
        var withDev = PhraseGroups.Assign(train.Concat(dev).Select(e => e.Input).ToArray());
        var devSentences = Enumerable.Range(0, dev.Count).Where(i => withDev[train.Length + i] == train.Length + i && dev[i].Input.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 8).Select(i => dev[i]).ToArray();
        Console.WriteLine($"grouped in {clock.Elapsed.TotalSeconds:F1} s: {roots.Distinct().Count():N0} groups; fit {fit.Length:N0}, held {held.Length:N0} phrases ({heldSentences.Length:N0} whole sentences, mean {heldSentences.Average(e => e.Input.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length):F1} words); dev sentences (8+ words, in no train phrase) {devSentences.Length:N0}");

        var folder = Directory.CreateTempSubdirectory("llmadapt-sweep-").FullName;
        var ml = new MLContext(seed: 0);
        float[][] X(IReadOnlyList<TrainingExample> set) => set.Select(e => vectors[e.Input]).ToArray();
        bool[] Y(IReadOnlyList<TrainingExample> set) => set.Select(e => e.Label == "1").ToArray();
        foreach (var l2 in new[] { 0.1f, 1f })
        {
            var model = MlNetLogistic.Fit(ml, X(fit), Y(fit), l2);
            double Acc(IReadOnlyList<TrainingExample> s) => MlNetLogistic.Accuracy(MlNetLogistic.Probabilities(ml, model, X(s)), Y(s));
            Console.WriteLine(FormattableString.Invariant($"  mlnet l2={l2}: held {Acc(held):F4} held-sentences {Acc(heldSentences):F4} dev-sentences {Acc(devSentences):F4}"));
        }

        var only = Array.IndexOf(args, "--only") is var o and >= 0 ? args[o + 1] : null;
        var grid = new (string Name, TaskHeadOptions Options, Func<TrainingExample, double>? Weight)[]
        {
            ("linear", new TaskHeadOptions { Head = HeadKind.Linear, BatchSize = 256, WeightDecay = 0 }, null),
            ("mlp512-d5-id2", new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 512, Dropout = 0.5, InputDropout = 0.2, WeightDecay = 0.1, LearningRate = 3e-4, MaxEpochs = 10 }, null),
            ("mlp256-d2", new TaskHeadOptions { Head = HeadKind.Mlp }, null),
            ("mlp512-d5-id2-x3", new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 512, Dropout = 0.5, InputDropout = 0.2, WeightDecay = 0.1, LearningRate = 3e-4, MaxEpochs = 10, EnsembleSize = 3 }, null),
            ("mlp512-d5-id2-ls1", new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 512, Dropout = 0.5, InputDropout = 0.2, WeightDecay = 0.1, LearningRate = 3e-4, MaxEpochs = 10, LabelSmoothing = 0.1 }, null),
            ("mlp256-d5-id3", new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 256, Dropout = 0.5, InputDropout = 0.3, WeightDecay = 0.1, LearningRate = 3e-4, MaxEpochs = 10 }, null),
            ("mlp512-d5-id2-lenw", new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 512, Dropout = 0.5, InputDropout = 0.2, WeightDecay = 0.1, LearningRate = 3e-4, MaxEpochs = 10 }, e => Math.Sqrt(e.Input.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length)),
            ("mlp512-d5-id2-e20", new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 512, Dropout = 0.5, InputDropout = 0.2, WeightDecay = 0.1, LearningRate = 3e-4, MaxEpochs = 20 }, null),
        };
        foreach (var (name, options, weight) in grid)
        {
            if (only is not null && !only.Split(',').Contains(name))
            {
                continue;
            }

            var path = Path.Combine(folder, name);
            var run = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var set = weight is null ? fit : fit.Select(e => e with { Weight = weight(e) }).ToArray();
            var artifact = await new TaskHeadTrainer(generator, options).FineTuneAsync(new FineTuningRequest { TrainingSet = set, ValidationSet = held, OutputPath = path }).ConfigureAwait(false);
            var seconds = run.Elapsed.TotalSeconds;
            var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            var classifier = await TextClassifier.LoadAsync(path, generator).ConfigureAwait(false);
            var a = (await classifier.EvaluateAsync(held).ConfigureAwait(false)).Accuracy;
            var s = (await classifier.EvaluateAsync(heldSentences).ConfigureAwait(false)).Accuracy;
            var d = (await classifier.EvaluateAsync(devSentences).ConfigureAwait(false)).Accuracy;
            Console.WriteLine(FormattableString.Invariant($"  {name}: held {a:F4} held-sentences {s:F4} dev-sentences {d:F4} ({artifact.Report.History.Count} epochs, best {artifact.Report.Metrics["best_epoch"]}, {seconds:F1} s, cpu {cpuSeconds:F1} s)"));
        }

        Directory.Delete(folder, recursive: true);
    }
}
