using System.Globalization;
using System.CommandLine;
using LlmAdapt.Cli.Training;
using LlmAdapt.Training;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Models.Gpt2;

namespace LlmAdapt.Cli.Commands;

/// <summary><c>llmadapt pretrain</c>, <c>sft</c>, <c>sample</c> and <c>eval perplexity</c>: train, instruction-tune, sample and score decoders with the CPU engine.</summary>
internal static class FineTuningCommands
{
    /// <summary>Adds <c>pretrain</c>, <c>sft</c>, <c>sample</c> and <c>eval perplexity</c> (joining an existing <c>eval</c> group if there is one).</summary>
    public static void AddTo(Command root, CliContext context)
    {
        root.Subcommands.Add(CreatePretrain(context));
        root.Subcommands.Add(CreateSft(context));
        root.Subcommands.Add(CreateGenerate(context));
        CommandGroups.Eval(root).Subcommands.Add(CreatePerplexity(context));
    }

    private static Command CreateSft(CliContext context)
    {
        var baseModel = new Option<DirectoryInfo>("--base") { Description = "Checkpoint folder to tune (Hugging Face layout).", Required = true };
        var data = new Option<FileInfo>("--data") { Description = "Instruction data file.", Required = true };
        var format = new Option<string>("--format") { Description = "alpaca | self-instruct | chat | preference (pairs in any shape dpo reads; learns prompt → chosen answer, prompt as written).", DefaultValueFactory = _ => "alpaca" };
        var maxPrompt = new Option<int>("--max-prompt-tokens") { Description = "Keep only the last N tokens of each prompt, as dpo does (0: whole prompts; a too-long example then loses its end)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Output folder: a PEFT adapter (LoRA, the default), or a checkpoint with --lora-rank 0 or --merge.", Required = true };
        var holdOut = new Option<int>("--hold-out") { Description = "Examples held out at the end of the file for validation (0: 10%).", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { Description = "Examples per micro-batch (a step is --batch × --accumulate).", DefaultValueFactory = _ => 4 };
        var contextLength = new Option<int>("--context") { Description = "Tokens per example (longer ones are cut).", DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 1e-3 };
        var loraRank = new Option<int>("--lora-rank") { Description = "LoRA rank (0: full fine-tuning).", DefaultValueFactory = _ => 8 };
        var loraAlpha = new Option<double>("--lora-alpha") { Description = "LoRA alpha.", DefaultValueFactory = _ => 16 };
        var loraDropout = new Option<double>("--lora-dropout") { Description = "LoRA dropout.", DefaultValueFactory = _ => 0.05 };
        var merge = new Option<bool>("--merge") { Description = "Merge the adapter into the base and write a full checkpoint." };
        var threads = new Option<int>("--threads") { Description = "Threads for the kernels.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var plot = new Option<FileInfo?>("--plot") { Description = "Write the loss curve to this PNG." };
        var json = CliContext.JsonOption();
        var sft = new Command("sft", "Instruction-tune a checkpoint (LoRA by default); the loss falls on answer tokens only.")
        {
            baseModel, data, format, maxPrompt, output, holdOut, steps, batch, contextLength, lr, loraRank, loraAlpha, loraDropout, merge, threads, seed, plot, json,
        };
        sft.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var promptTokens = parseResult.GetValue(maxPrompt);
            if (promptTokens < 0)
            {
                throw new CliUsageException($"--max-prompt-tokens {promptTokens}: give 0 (whole prompts) or a positive count.");
            }

            var file = parseResult.GetRequiredValue(data);
            IReadOnlyList<TrainingExample> examples;
            try
            {
                examples = await LlmAdapt.Training.Data.InstructionDatasets.LoadAsync(file.FullName, parseResult.GetRequiredValue(format), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException ex) when (ex.ParamName == "format")
            {
                throw new CliUsageException(ex.Message);
            }

            var promptFormat = (parseResult.GetRequiredValue(format).Equals("preference", StringComparison.OrdinalIgnoreCase) ? InstructionPromptFormat.Plain : InstructionPromptFormat.Alpaca)
                with { MaxPromptTokens = promptTokens > 0 ? promptTokens : null };
            var rank = parseResult.GetValue(loraRank);
            var stepCount = parseResult.GetValue(steps);
            var options = new DecoderTrainingOptions
            {
                Steps = stepCount,
                BatchSize = parseResult.GetValue(batch),
                SequenceLength = parseResult.GetValue(contextLength),
                LearningRate = parseResult.GetValue(lr),
                WarmupSteps = Math.Min(10, stepCount),
                WeightDecay = 0,
                EvaluationInterval = Math.Max(1, stepCount / 10),
                CheckpointInterval = stepCount,
                Threads = parseResult.GetValue(threads),
                Lora = rank > 0 ? new LlmAdapt.Training.Lora.LoraOptions { Rank = rank, Alpha = parseResult.GetValue(loraAlpha), Dropout = parseResult.GetValue(loraDropout) } : null,
                MergeLora = parseResult.GetValue(merge),
            };
            var held = parseResult.GetValue(holdOut);
            var request = new FineTuningRequest
            {
                TrainingSet = held > 0 ? examples.Take(examples.Count - held).ToList() : examples,
                ValidationSet = held > 0 ? examples.Skip(examples.Count - held).ToList() : null,
                OutputPath = parseResult.GetRequiredValue(output).FullName,
                BaseModel = parseResult.GetRequiredValue(baseModel).FullName,
                Seed = parseResult.GetValue(seed),
            };
            var tuner = new InstructionFineTuner(options, promptFormat);
            var artifact = await TrainingConsole.RunAsync(context, "sft", options.Steps, progress => tuner.FineTuneAsync(request, progress, cancellationToken)).ConfigureAwait(false);
            if (artifact.Report.Metrics.TryGetValue("validation_loss_before", out var before))
            {
                await context.Out.WriteLineAsync($"validation answer-token loss {before:F4} before tuning, {artifact.Report.BestValidationLoss:F4} after").ConfigureAwait(false);
            }

            await ReportAsync(context, artifact, parseResult.GetValue(plot), "sft", parseResult.GetValue(json)).ConfigureAwait(false);
            return CliApp.Success;
        }));
        return sft;
    }

    private static Command CreatePerplexity(CliContext context)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Checkpoint or LoRA adapter folder.", Required = true };
        var data = new Option<FileInfo>("--data") { Description = "Text file to score.", Required = true };
        var from = new Option<double>("--from") { Description = "Score only the tokens after this fraction of the file (0.9: pretrain's validation part); the unigram baseline is then the part before.", DefaultValueFactory = _ => 0 };
        var contextLength = new Option<int>("--context") { Description = "Tokens per block (0: the model's context)." };
        var json = CliContext.JsonOption();
        var perplexity = new Command("perplexity", "Score a text with a checkpoint: mean next-token loss and perplexity.") { model, data, from, contextLength, json };
        perplexity.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var file = parseResult.GetRequiredValue(data);
            if (!file.Exists)
            {
                throw new FileNotFoundException($"{file.FullName}: no such file.", file.FullName);
            }

            var text = await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false);
            var fraction = parseResult.GetValue(from);
            var result = await DecoderEvaluator.PerplexityAsync(parseResult.GetRequiredValue(model).FullName, text, parseResult.GetValue(contextLength), fraction, cancellationToken).ConfigureAwait(false);
            var unigram = result.UnigramEntropy;
            await context.Out.WriteLineAsync($"loss {result.Loss:F4} nats/token, perplexity {result.Perplexity:F2}, {result.Tokens} tokens scored").ConfigureAwait(false);
            if (unigram is { } u)
            {
                await context.Out.WriteLineAsync($"unigram entropy of the first {fraction:P0}: {u:F4} nats; the model is {BelowOrAbove(u - result.Loss)} it").ConfigureAwait(false);
            }

            if (parseResult.GetValue(json))
            {
                context.WriteJson(new { loss = result.Loss, perplexity = result.Perplexity, tokens = result.Tokens, unigram_entropy = unigram });
            }

            return CliApp.Success;
        }));
        return perplexity;
    }

    private static Command CreateGenerate(CliContext context)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Checkpoint or LoRA adapter folder.", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "The start of the text.", DefaultValueFactory = _ => string.Empty };
        var tokens = new Option<int>("--tokens") { Description = "Tokens to generate.", DefaultValueFactory = _ => 100 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (0: greedy).", DefaultValueFactory = _ => 0.8 };
        var seed = new Option<int>("--seed") { Description = "Sampling seed.", DefaultValueFactory = _ => 42 };
        var generate = new Command("sample", "Sample a continuation from a checkpoint trained by the engine (pretrain, sft).") { model, prompt, tokens, temperature, seed };
        generate.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var text = await DecoderEvaluator.GenerateAsync(parseResult.GetRequiredValue(model).FullName, parseResult.GetValue(prompt) ?? string.Empty, parseResult.GetValue(tokens), parseResult.GetValue(temperature), parseResult.GetValue(seed), cancellationToken).ConfigureAwait(false);
            await context.Out.WriteLineAsync(text).ConfigureAwait(false);
            return CliApp.Success;
        }));
        return generate;
    }

    private static Command CreatePretrain(CliContext context)
    {
        var arch = new Option<string>("--arch") { Description = "Architecture of a new model: gpt2 or llama.", DefaultValueFactory = _ => "gpt2" };
        var layers = new Option<int>("--layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => 4 };
        var heads = new Option<int>("--heads") { Description = "Attention heads.", DefaultValueFactory = _ => 4 };
        var kvHeads = new Option<int>("--kv-heads") { Description = "Llama: key/value heads (grouped-query attention; divides --heads; 0: --heads)." };
        var intermediate = new Option<int>("--intermediate") { Description = "Llama: MLP width (0: 8/3 × --dim rounded up to a multiple of 16)." };
        var dim = new Option<int>("--dim") { Description = "Width of the residual stream (a multiple of --heads).", DefaultValueFactory = _ => 128 };
        var contextLength = new Option<int>("--context") { Description = "Context length (tokens per sequence).", DefaultValueFactory = _ => 128 };
        var data = new Option<FileInfo>("--data") { Description = "Plain-text corpus (UTF-8).", Required = true };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 1000 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Output folder: a checkpoint (Hugging Face layout), or a PEFT adapter with --lora-rank.", Required = true };
        var baseModel = new Option<DirectoryInfo?>("--base") { Description = "Continue from this checkpoint instead of a new model." };
        var batch = new Option<int>("--batch") { Description = "Sequences per micro-batch (a step is --batch × --accumulate).", DefaultValueFactory = _ => 8 };
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
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --base (its optimizer state and step) with the same options." };
        var json = CliContext.JsonOption();

        var pretrain = new Command("pretrain", "Train a decoder by next-token prediction on a text file (from scratch, or continued from --base).")
        {
            arch, layers, heads, kvHeads, intermediate, dim, contextLength, data, steps, output, baseModel, batch, accumulate, lr, warmup, evalEvery, evalBatches, checkpointEvery, threads, seed, loraRank, loraAlpha, plot, resume, json,
        };
        pretrain.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var architecture = parseResult.GetValue(arch)?.ToUpperInvariant();
            if (architecture is not ("GPT2" or "LLAMA"))
            {
                throw new CliUsageException($"--arch '{parseResult.GetValue(arch)}' is not supported; use gpt2 or llama.");
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
                NewModel = NewModel(architecture, parseResult.GetValue(layers), parseResult.GetValue(heads), parseResult.GetValue(kvHeads), parseResult.GetValue(dim), parseResult.GetValue(intermediate), ctx),
                Lora = rank > 0 ? new LlmAdapt.Training.Lora.LoraOptions { Rank = rank, Alpha = parseResult.GetValue(loraAlpha) } : null,
                Resume = parseResult.GetValue(resume),
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

    /// <summary>The shape of a new model; Llama's MLP defaults to <see cref="LlmAdapt.Training.Models.Llama.LlamaConfig.DefaultIntermediateSize"/>.</summary>
    private static LlmAdapt.Training.Models.DecoderConfig NewModel(string architecture, int layers, int heads, int kvHeads, int dim, int intermediate, int context) => architecture == "LLAMA"
        ? new LlmAdapt.Training.Models.Llama.LlamaConfig
        {
            VocabSize = LlmAdapt.Formats.Gpt2TokenizerFiles.VocabularySize,
            Layers = layers,
            Heads = heads,
            KeyValueHeads = kvHeads > 0 ? kvHeads : heads,
            Channels = dim,
            IntermediateSize = intermediate > 0 ? intermediate : LlmAdapt.Training.Models.Llama.LlamaConfig.DefaultIntermediateSize(dim),
            ContextLength = context,
            TieWordEmbeddings = true,
        }
        : new Gpt2Config { Layers = layers, Heads = heads, Channels = dim, ContextLength = context };

    private static async Task ReportAsync(CliContext context, FineTunedArtifact artifact, FileInfo? plot, string title, bool json)
    {
        var report = artifact.Report;
        await context.Out.WriteLineAsync($"{artifact.Kind} written to {artifact.Path}").ConfigureAwait(false);
        await context.Out.WriteLineAsync($"steps {report.Steps}, final training loss {report.FinalTrainingLoss:F4}, best validation loss {report.BestValidationLoss:F4}, {report.Duration.TotalSeconds:F0} s, {report.Metrics.GetValueOrDefault("tokens_per_second"):F0} tokens/s, trainable parameters {artifact.TrainableParameters:N0} of {report.Metrics.GetValueOrDefault("total_parameters"):N0} ({artifact.TrainableParameters / Math.Max(1, report.Metrics.GetValueOrDefault("total_parameters")):P2})").ConfigureAwait(false);
        if (report.Metrics.TryGetValue("unigram_entropy", out var unigram))
        {
            await context.Out.WriteLineAsync($"unigram entropy of the training tokens {unigram:F4} nats; best validation loss is {BelowOrAbove(unigram - (report.BestValidationLoss ?? double.NaN))} it").ConfigureAwait(false);
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
                total_parameters = report.Metrics.GetValueOrDefault("total_parameters"),
                validation_loss_before = report.Metrics.TryGetValue("validation_loss_before", out var vb) ? vb : (double?)null,
                unigram_entropy = report.Metrics.TryGetValue("unigram_entropy", out var u) ? u : (double?)null,
            });
        }
    }

    /// <summary>Says how far a loss is below (positive gap) or above (negative gap) a baseline.</summary>
    private static string BelowOrAbove(double gap)
        => double.IsNaN(gap) ? "not comparable to"
            : gap >= 0 ? string.Create(CultureInfo.InvariantCulture, $"{gap:F4} nats below")
            : string.Create(CultureInfo.InvariantCulture, $"{-gap:F4} nats above");
}
