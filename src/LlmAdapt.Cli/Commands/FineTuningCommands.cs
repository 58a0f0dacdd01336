using System.CommandLine;
using LlmAdapt.Cli.Training;
using LlmAdapt.Training;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Models.Gpt2;

namespace LlmAdapt.Cli.Commands;

/// <summary><c>llmadapt pretrain</c>: train a decoder on plain text with the CPU engine.</summary>
internal static class FineTuningCommands
{
    /// <summary>Adds <c>pretrain</c>, <c>sft</c> and <c>eval perplexity</c> (joining an existing <c>eval</c> group if there is one).</summary>
    public static void AddTo(RootCommand root, CliContext context)
    {
        root.Subcommands.Add(CreatePretrain(context));
    }

    private static Command CreatePretrain(CliContext context)
    {
        var arch = new Option<string>("--arch") { Description = "Architecture of a new model (gpt2).", DefaultValueFactory = _ => "gpt2" };
        var layers = new Option<int>("--layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => 4 };
        var heads = new Option<int>("--heads") { Description = "Attention heads.", DefaultValueFactory = _ => 4 };
        var dim = new Option<int>("--dim") { Description = "Width of the residual stream (a multiple of --heads).", DefaultValueFactory = _ => 128 };
        var contextLength = new Option<int>("--context") { Description = "Context length (tokens per sequence).", DefaultValueFactory = _ => 128 };
        var data = new Option<FileInfo>("--data") { Description = "Plain-text corpus (UTF-8).", Required = true };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 1000 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Checkpoint folder (Hugging Face layout).", Required = true };
        var baseModel = new Option<DirectoryInfo?>("--base") { Description = "Continue from this checkpoint instead of a new model." };
        var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 8 };
        var accumulate = new Option<int>("--accumulate") { Description = "Micro-batches per step (gradient accumulation).", DefaultValueFactory = _ => 1 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 1e-3 };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up steps.", DefaultValueFactory = _ => 50 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Validation every N steps.", DefaultValueFactory = _ => 100 };
        var evalBatches = new Option<int>("--eval-batches") { Description = "Validation batches per evaluation.", DefaultValueFactory = _ => 20 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps.", DefaultValueFactory = _ => 200 };
        var threads = new Option<int>("--threads") { Description = "Threads for the kernels.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var loraRank = new Option<int>("--lora-rank") { Description = "Train LoRA adapters of this rank instead of every weight (0: full)." };
        var loraAlpha = new Option<double>("--lora-alpha") { Description = "LoRA alpha.", DefaultValueFactory = _ => 16 };
        var plot = new Option<FileInfo?>("--plot") { Description = "Write the loss curve to this PNG." };
        var json = CliContext.JsonOption();

        var pretrain = new Command("pretrain", "Train a decoder by next-token prediction on a text file (from scratch, or continued from --base).")
        {
            arch, layers, heads, dim, contextLength, data, steps, output, baseModel, batch, accumulate, lr, warmup, evalEvery, evalBatches, checkpointEvery, threads, seed, loraRank, loraAlpha, plot, json,
        };
        pretrain.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            if (!string.Equals(parseResult.GetValue(arch), "gpt2", StringComparison.OrdinalIgnoreCase))
            {
                throw new CliUsageException($"--arch '{parseResult.GetValue(arch)}' is not supported; use gpt2.");
            }

            var file = parseResult.GetRequiredValue(data);
            if (!file.Exists)
            {
                throw new FileNotFoundException($"{file.FullName}: no such file.", file.FullName);
            }

            var ctx = parseResult.GetValue(contextLength);
            var rank = parseResult.GetValue(loraRank);
            var options = new DecoderTrainingOptions
            {
                Steps = parseResult.GetValue(steps),
                BatchSize = parseResult.GetValue(batch),
                SequenceLength = ctx,
                GradientAccumulationSteps = parseResult.GetValue(accumulate),
                LearningRate = parseResult.GetValue(lr),
                WarmupSteps = Math.Min(parseResult.GetValue(warmup), parseResult.GetValue(steps)),
                EvaluationInterval = parseResult.GetValue(evalEvery),
                EvaluationBatches = parseResult.GetValue(evalBatches),
                CheckpointInterval = parseResult.GetValue(checkpointEvery),
                Threads = parseResult.GetValue(threads),
                NewModel = new Gpt2Config { Layers = parseResult.GetValue(layers), Heads = parseResult.GetValue(heads), Channels = parseResult.GetValue(dim), ContextLength = ctx },
                Lora = rank > 0 ? new LlmAdapt.Training.Lora.LoraOptions { Rank = rank, Alpha = parseResult.GetValue(loraAlpha) } : null,
            };
            var text = await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false);
            var request = new FineTuningRequest
            {
                TrainingSet = [new TrainingExample { Input = text, Origin = file.FullName }],
                OutputPath = parseResult.GetRequiredValue(output).FullName,
                BaseModel = parseResult.GetValue(baseModel)?.FullName,
                Seed = parseResult.GetValue(seed),
            };
            var tuner = new ContinuedPretrainingFineTuner(options);
            var artifact = await TrainingConsole.RunAsync(context, "pretrain", options.Steps, progress => tuner.FineTuneAsync(request, progress, cancellationToken)).ConfigureAwait(false);
            await ReportAsync(context, artifact, parseResult.GetValue(plot), "pretrain", parseResult.GetValue(json)).ConfigureAwait(false);
            return CliApp.Success;
        }));

        return pretrain;
    }

    private static async Task ReportAsync(CliContext context, FineTunedArtifact artifact, FileInfo? plot, string title, bool json)
    {
        var report = artifact.Report;
        await context.Out.WriteLineAsync($"{artifact.Kind} written to {artifact.Path}").ConfigureAwait(false);
        await context.Out.WriteLineAsync($"steps {report.Steps}, final training loss {report.FinalTrainingLoss:F4}, best validation loss {report.BestValidationLoss:F4}, {report.Duration.TotalSeconds:F0} s, {report.Metrics.GetValueOrDefault("tokens_per_second"):F0} tokens/s, trainable parameters {artifact.TrainableParameters:N0}").ConfigureAwait(false);
        if (report.Metrics.TryGetValue("unigram_entropy", out var unigram))
        {
            await context.Out.WriteLineAsync($"unigram entropy of the training tokens {unigram:F4} nats; best validation loss is {unigram - (report.BestValidationLoss ?? double.NaN):F4} nats below it").ConfigureAwait(false);
        }

        if (plot is not null)
        {
            await TrainingConsole.WritePlotAsync(report, plot.FullName, title).ConfigureAwait(false);
            await context.Out.WriteLineAsync($"loss curve written to {plot.FullName}").ConfigureAwait(false);
        }

        if (json)
        {
            context.WriteJson(new
            {
                kind = artifact.Kind,
                path = artifact.Path,
                steps = report.Steps,
                final_training_loss = report.FinalTrainingLoss,
                best_validation_loss = report.BestValidationLoss,
                seconds = report.Duration.TotalSeconds,
                tokens_per_second = report.Metrics.GetValueOrDefault("tokens_per_second"),
                trainable_parameters = artifact.TrainableParameters,
                unigram_entropy = report.Metrics.TryGetValue("unigram_entropy", out var u) ? u : (double?)null,
            });
        }
    }
}
