using LlmAdapt.Preference;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Benchmarks.Heads;

/// <summary>
/// `compare reward --sweep`: chooses reward-model settings by 5-fold cross-validation on the 1,500 training pairs only
/// (each fold's model early-stops on its own 10% split), averaged over two seeds. The test pairs are not read.
/// </summary>
internal static class RewardSweep
{
    public static async Task RunAsync(IEmbeddingGenerator<string, Embedding<float>> generator, PreferencePair[] train, string[] args)
    {
        var folder = Directory.CreateTempSubdirectory("llmadapt-reward-sweep-").FullName;
        const RewardFeatures RP = RewardFeatures.Response | RewardFeatures.PromptAndResponse;
        var grid = new (string Name, RewardModelOptions Options)[]
        {
            ("linear", new() { Head = HeadKind.Linear, Features = RP, LearningRate = 1e-3, EnsembleSize = 1 }),
            ("linear-x5", new() { Head = HeadKind.Linear, Features = RP, LearningRate = 1e-3, EnsembleSize = 5 }),
            ("mlp", new() { Head = HeadKind.Mlp, Features = RP, EnsembleSize = 1 }),
            ("mlp-x5", new() { Head = HeadKind.Mlp, Features = RP, EnsembleSize = 5 }),
            ("mlp-x5-d0.5", new() { Head = HeadKind.Mlp, Features = RP, EnsembleSize = 5, Dropout = 0.5 }),
            ("mlp-x5-wd0.5", new() { Head = HeadKind.Mlp, Features = RP, EnsembleSize = 5, WeightDecay = 0.5 }),
            ("mlp-x5-r", new() { Head = HeadKind.Mlp, Features = RewardFeatures.Response, EnsembleSize = 5 }),
            ("mlp-x5-rpp", new() { Head = HeadKind.Mlp, Features = RP | RewardFeatures.Prompt, EnsembleSize = 5 }),
            ("mlp-x5-rppi", new() { Head = HeadKind.Mlp, Features = RP | RewardFeatures.Prompt | RewardFeatures.Interaction, EnsembleSize = 5 }),
            ("linear-x5-rpi", new() { Head = HeadKind.Linear, Features = RP | RewardFeatures.Interaction, LearningRate = 1e-3, EnsembleSize = 5 }),
            ("mlp-x5-rppi-id2", new() { Head = HeadKind.Mlp, Features = RP | RewardFeatures.Prompt | RewardFeatures.Interaction, EnsembleSize = 5, InputDropout = 0.2 }),
            ("mlp-x10-rppi-d5", new() { Head = HeadKind.Mlp, Features = RP | RewardFeatures.Prompt | RewardFeatures.Interaction, EnsembleSize = 10, Dropout = 0.5 }),
            ("mlp-x5-rppi-h256-d5", new() { Head = HeadKind.Mlp, Features = RP | RewardFeatures.Prompt | RewardFeatures.Interaction, EnsembleSize = 5, HiddenSize = 256, Dropout = 0.5 }),
            ("mlp-x5-rppi-lr1e-3", new() { Head = HeadKind.Mlp, Features = RP | RewardFeatures.Prompt | RewardFeatures.Interaction, EnsembleSize = 5, LearningRate = 1e-3 }),
        };
        var only = Array.IndexOf(args, "--only") is var o and >= 0 ? args[o + 1].Split(',') : null;
        const int Folds = 5;
        foreach (var (name, options) in grid)
        {
            if (only is not null && !only.Contains(name))
            {
                continue;
            }

            var accuracies = new List<double>();
            foreach (var seed in new[] { 1, 2 })
            {
                double correct = 0;
                for (var f = 0; f < Folds; f++)
                {
                    var held = train.Where((_, i) => i % Folds == f).ToArray();
                    var rest = train.Where((_, i) => i % Folds != f).ToArray();
                    var path = Path.Combine(folder, $"{name}-{seed}-{f}");
                    await new RewardModelTrainer(generator, options).TrainAsync(new() { TrainingPairs = rest, OutputPath = path, Seed = seed }).ConfigureAwait(false);
                    var model = await RewardModel.LoadAsync(path, generator).ConfigureAwait(false);
                    correct += (await model.EvaluateAsync(held).ConfigureAwait(false)).Accuracy * held.Length;
                }

                accuracies.Add(correct / train.Length);
            }

            Console.WriteLine(FormattableString.Invariant($"  {name}: cv accuracy {accuracies.Average():F4} (seeds {string.Join(" ", accuracies.Select(a => a.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))})"));
        }

        Directory.Delete(folder, recursive: true);
    }
}
