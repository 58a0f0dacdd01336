using System.CommandLine;
using System.Globalization;
using LlmAdapt.Cli.Training;
using LlmAdapt.Preference;
using LlmAdapt.Training.Dpo;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Lora;

namespace LlmAdapt.Cli.Commands;

/// <summary>
/// <c>llmadapt dpo</c>, <c>llmadapt eval preferences</c> and <c>llmadapt eval generations</c>: tune a decoder on
/// preference pairs, measure it against its reference on pairs, and measure what it generates with a reward.
/// </summary>
internal static class PreferenceTuningCommands
{
    /// <summary>TRL's metric names, in the order they are printed.</summary>
    private static readonly string[] s_metrics = ["loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"];

    /// <summary>Adds <c>dpo</c>, and <c>preferences</c> and <c>generations</c> to the <c>eval</c> group (made if no other verb set made it).</summary>
    public static void AddTo(Command root, CliContext context)
    {
        root.Subcommands.Add(CreateDpo(context));
        var eval = CommandGroups.Eval(root);
        eval.Subcommands.Add(CreateEvaluate(context));
        eval.Subcommands.Add(CreateEvaluateGenerations(context));
    }

    private static Command CreateDpo(CliContext context)
    {
        var baseModel = new Option<DirectoryInfo>("--base") { Description = "Checkpoint folder to tune (GPT-2 or Llama, Hugging Face layout), or a DPO/sft adapter folder (trained further, or resumed with --resume).", Required = true };
        var pairsFile = new Option<FileInfo>("--pairs") { Description = "Preference pairs (JSONL or JSONL.gz: TRL explicit or implicit prompt, HH-RLHF, OpenAI DPO).", Required = true };
        var pairOptions = new TrainingHeadCommands.PairOptions();
        var loss = new Option<string>("--loss") { Description = "sigmoid (DPO), ipo, robust (label-noise robust DPO) or hinge.", DefaultValueFactory = _ => "sigmoid" }.AcceptOnlyFromAmong("sigmoid", "ipo", "robust", "hinge");
        var beta = new Option<double>("--beta") { Description = "β: how strongly the policy is held to the reference (> 0).", DefaultValueFactory = _ => 0.1 };
        var smoothing = new Option<double>("--label-smoothing") { Description = "ε in [0, 0.5): the assumed rate of flipped labels (robust; conservative DPO with sigmoid)." };
        var maxPrompt = new Option<int>("--max-prompt-tokens") { Description = "Prompt tokens kept (a longer prompt keeps its end).", DefaultValueFactory = _ => 128 };
        var maxResponse = new Option<int>("--max-response-tokens") { Description = "Response tokens kept, end-of-text included (a longer response keeps its start).", DefaultValueFactory = _ => 128 };
        var validationFile = new Option<FileInfo?>("--validation") { Description = "Held-out pairs for the eval_ metrics." };
        var holdOut = new Option<int>("--hold-out") { Description = "Pairs held out at the end of --pairs for validation (0 with no --validation: 10%)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Output folder: a PEFT adapter (a checkpoint with --lora-rank 0 or --merge), dpo_config.json and the cached reference log-probabilities.", Required = true };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { Description = "Pairs per step (each runs a chosen and a rejected sequence).", DefaultValueFactory = _ => 4 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 5e-4 };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up steps.", DefaultValueFactory = _ => 10 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Validation every N steps (0: 10 times a run)." };
        var loraRank = new Option<int>("--lora-rank") { Description = "LoRA rank (0: full fine-tuning, reference = the starting weights scored before training).", DefaultValueFactory = _ => 8 };
        var loraAlpha = new Option<double>("--lora-alpha") { Description = "LoRA alpha.", DefaultValueFactory = _ => 16 };
        var loraDropout = new Option<double>("--lora-dropout") { Description = "LoRA dropout." };
        var merge = new Option<bool>("--merge") { Description = "Merge the adapter into the base and write a full checkpoint." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --base (its optimizer state, step and reference log-probabilities) with the same options." };
        var threads = new Option<int>("--threads") { Description = "Threads for the kernels.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var plot = new Option<FileInfo?>("--plot") { Description = "Write the loss and rewards/accuracies curves (training and validation) to this PNG." };
        var dropInvalid = new Option<bool>("--drop-invalid") { Description = "Drop pairs that break the limits (an empty or over-long text, chosen = rejected, a margin that is not finite; each is listed) instead of stopping at the first." };
        var json = CliContext.JsonOption();
        var command = new Command("dpo", "Tune a decoder on preference pairs with DPO (or IPO, robust DPO, hinge); the reference is the base with the adapter off.")
        {
            baseModel, pairsFile, loss, beta, smoothing, maxPrompt, maxResponse, validationFile, holdOut, output, steps, batch, lr, warmup, evalEvery, loraRank, loraAlpha, loraDropout, merge, resume, threads, seed, plot, dropInvalid, json,
        };
        pairOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var stepCount = parse.GetValue(steps);
            var every = parse.GetValue(evalEvery);
            var rank = parse.GetValue(loraRank);
            var options = new DpoOptions
            {
                Loss = Enum.Parse<DpoLossType>(parse.GetRequiredValue(loss), ignoreCase: true),
                Beta = parse.GetValue(beta),
                LabelSmoothing = parse.GetValue(smoothing),
                MaxPromptTokens = parse.GetValue(maxPrompt),
                MaxResponseTokens = parse.GetValue(maxResponse),
                Training = new DecoderTrainingOptions
                {
                    Steps = stepCount,
                    BatchSize = parse.GetValue(batch),
                    LearningRate = parse.GetValue(lr),
                    WarmupSteps = Math.Min(parse.GetValue(warmup), stepCount),
                    WeightDecay = 0,
                    EvaluationInterval = every > 0 ? every : Math.Max(1, stepCount / 10),
                    EvaluationBatches = 100_000,
                    CheckpointInterval = stepCount,
                    Threads = parse.GetValue(threads),
                    Lora = rank > 0 ? new LoraOptions { Rank = rank, Alpha = parse.GetValue(loraAlpha), Dropout = parse.GetValue(loraDropout) } : null,
                    MergeLora = parse.GetValue(merge),
                    Resume = parse.GetValue(resume),
                },
            };
            DpoTrainer trainer;
            try
            {
                trainer = new DpoTrainer(options);
            }
            catch (InvalidOptionsException ex)
            {
                throw new CliUsageException(ex.Message);
            }

            var drop = parse.GetValue(dropInvalid);
            var pairs = Checked(await pairOptions.ReadAsync(parse, TrainingHeadCommands.Existing(parse.GetRequiredValue(pairsFile)), cancellationToken).ConfigureAwait(false), drop, context);
            IReadOnlyList<PreferencePair>? validation = null;
            var held = parse.GetValue(holdOut);
            if (parse.GetValue(validationFile) is { } v)
            {
                if (held > 0)
                {
                    throw new CliUsageException("Give --validation or --hold-out, not both.");
                }

                validation = Checked(await PreferenceDataReader.ReadPairsAsync(TrainingHeadCommands.Existing(v), TrainingHeadCommands.ParseFormat(parse.GetRequiredValue(pairOptions.Format)), new PreferenceLimits { AllowEmptyResponses = true }, cancellationToken).ConfigureAwait(false), drop, context);
            }
            else if (held > 0)
            {
                if (held >= pairs.Count)
                {
                    throw new CliUsageException($"--hold-out {held} leaves no training pairs: there are {pairs.Count}.");
                }

                validation = pairs.Skip(pairs.Count - held).ToList();
                pairs = pairs.Take(pairs.Count - held).ToList();
            }

            var request = new PreferenceTrainingRequest
            {
                TrainingPairs = pairs,
                ValidationPairs = validation,
                BaseModel = parse.GetRequiredValue(baseModel).FullName,
                OutputPath = parse.GetRequiredValue(output).FullName,
                Seed = parse.GetValue(seed),
            };
            var scoring = new TenthsProgress<ReferenceScoringProgress>(context, "reference log-probabilities", "pairs", p => (p.Completed, p.Total));
            var artifact = await TrainingConsole.RunAsync(context, "dpo", stepCount, progress => trainer.TrainAsync(request, progress, scoring, cancellationToken)).ConfigureAwait(false);
            var report = artifact.Report;
            var m = report.Metrics;
            await context.Out.WriteLineAsync($"{artifact.Kind} written to {artifact.Path}").ConfigureAwait(false);
            await context.Out.WriteLineAsync(Invariant($"{options.Loss} loss, β {options.Beta}, {m["pairs"]} training pairs, {m["validation_pairs"]} validation pairs, {report.Steps} steps, {report.Duration.TotalSeconds:F0} s; reference: {(m["reference_without_adapter"] > 0 ? "the base with the adapter switched off (one copy of the base in memory)" : "the starting weights, scored before the first step")}; {m["reference_sequences_scored"]} sequences scored for it")).ConfigureAwait(false);
            await context.Out.WriteLineAsync(Invariant($"truncated: {m["truncated_prompts"]} prompts (from the left), {m["truncated_responses"]} responses (from the right); {m["identical_after_truncation"]} pairs identical once cut; sequence length {m["sequence_length"]}")).ConfigureAwait(false);
            await context.Out.WriteLineAsync("train: " + Describe(m, string.Empty)).ConfigureAwait(false);
            await context.Out.WriteLineAsync("eval:  " + Describe(m, "eval_")).ConfigureAwait(false);
            if (parse.GetValue(plot) is { } png)
            {
                await TrainingConsole.WritePlotAsync(report, png.FullName, "dpo", ["rewards/accuracies", "eval_rewards/accuracies"]).ConfigureAwait(false);
                await context.Out.WriteLineAsync($"curves written to {png.FullName}").ConfigureAwait(false);
            }

            if (parse.GetValue(json))
            {
                context.WriteJson(new
                {
                    kind = artifact.Kind,
                    path = artifact.Path,
                    loss_type = options.Loss.ToString().ToLowerInvariant(),
                    beta = options.Beta,
                    steps = report.Steps,
                    seconds = report.Duration.TotalSeconds,
                    trainable_parameters = artifact.TrainableParameters,
                    metrics = m,
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static Command CreateEvaluate(CliContext context)
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "A DPO output: an adapter folder (reference: its base without the adapter), or a checkpoint with --reference.", Required = true };
        var pairsFile = new Option<FileInfo>("--pairs") { Description = "Held-out preference pairs.", Required = true };
        var pairOptions = new TrainingHeadCommands.PairOptions();
        var reference = new Option<DirectoryInfo?>("--reference") { Description = "The reference checkpoint, when --model is a full checkpoint." };
        var beta = new Option<double?>("--beta") { Description = "β for the rewards (default: the one in the model's dpo_config.json, else 0.1)." };
        var dropInvalid = new Option<bool>("--drop-invalid") { Description = "Drop pairs that break the limits (an empty or over-long text, chosen = rejected, a margin that is not finite; each is listed) instead of stopping at the first." };
        var json = CliContext.JsonOption();
        var command = new Command("preferences", "Measure a DPO-tuned model against its reference on pairs: implicit-reward accuracy and margins (TRL's rewards/*).") { model, pairsFile, reference, beta, dropInvalid, json };
        pairOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var pairs = Checked(await pairOptions.ReadAsync(parse, TrainingHeadCommands.Existing(parse.GetRequiredValue(pairsFile)), cancellationToken).ConfigureAwait(false), parse.GetValue(dropInvalid), context);
            var path = parse.GetRequiredValue(model).FullName;
            DpoOptions? options = null;
            if (parse.GetValue(beta) is { } b)
            {
                options = new DpoOptions { Beta = b };
                if (!(b > 0))
                {
                    throw new CliUsageException(Invariant($"--beta {b}: β must be greater than 0."));
                }
            }

            DpoEvaluation result;
            try
            {
                result = await DpoTrainer.EvaluateAsync(path, pairs, parse.GetValue(reference)?.FullName, options, new TenthsProgress<ReferenceScoringProgress>(context, "scoring pairs", "pairs", p => (p.Completed, p.Total)), cancellationToken).ConfigureAwait(false);
            }
            catch (ArgumentException ex) when (ex.ParamName == "reference")
            {
                throw new CliUsageException(ex.Message + " (--reference)");
            }

            await context.Out.WriteLineAsync(Invariant($"{result.Pairs} pairs, β {result.Beta}: rewards/accuracies {result.Accuracy:F4}, rewards/margins {result.Margin:F4} (chosen {result.RewardsChosen:F4}, rejected {result.RewardsRejected:F4}); logps/chosen {result.LogpsChosen:F2}, logps/rejected {result.LogpsRejected:F2}; loss {result.Loss:F4}")).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                context.WriteJson(new Dictionary<string, double>
                {
                    ["pairs"] = result.Pairs,
                    ["beta"] = result.Beta,
                    ["loss"] = result.Loss,
                    ["rewards/accuracies"] = result.Accuracy,
                    ["rewards/margins"] = result.Margin,
                    ["rewards/chosen"] = result.RewardsChosen,
                    ["rewards/rejected"] = result.RewardsRejected,
                    ["logps/chosen"] = result.LogpsChosen,
                    ["logps/rejected"] = result.LogpsRejected,
                    ["truncated_prompts"] = result.TruncatedPrompts,
                    ["truncated_responses"] = result.TruncatedResponses,
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static Command CreateEvaluateGenerations(CliContext context)
    {
        var model = new Option<DirectoryInfo[]>("--model") { Description = "A checkpoint, or a LoRA adapter folder (its KL is measured against its base with the adapter off); repeat to compare several on the same prompts and seed.", Required = true };
        var promptsFile = new Option<FileInfo>("--prompts") { Description = "Prompts, one per line (blank lines skipped), continued as plain text.", Required = true };
        var prefixWords = new Option<string?>("--prefix-words") { Description = "K or MIN-MAX: keep only the first K words of each line (K drawn per line with --seed); lines with no more words are skipped." };
        var take = new Option<int?>("--take") { Description = "Use at most this many prompts (after --prefix-words)." };
        var classifier = new Option<string?>("--classifier") { Description = "A classifier folder ('train classifier'): the reward is the probability of --label for the prompt followed by the completion." };
        var label = new Option<string?>("--label") { Description = "The classifier label whose probability is the reward." };
        var rewardModel = new Option<string?>("--reward-model") { Description = "A reward model folder ('train reward') instead of --classifier: the reward is its score of the completion as a reply to the prompt." };
        var samples = new Option<int>("--samples") { Description = "Completions sampled per prompt (best-of-n picks among them).", DefaultValueFactory = _ => 4 };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Most tokens per completion (an end-of-text token counts).", DefaultValueFactory = _ => 32 };
        var reference = new Option<DirectoryInfo?>("--reference") { Description = "The reference checkpoint for the KL (default: an adapter's base with the adapter off; a checkpoint alone gets no KL)." };
        var seed = new Option<int>("--seed") { Description = "Sampling seed (and the seed of --prefix-words).", DefaultValueFactory = _ => 42 };
        var rankings = new Option<string?>("--rankings") { Description = "Also write each prompt's completions ranked by reward as rankings JSONL (for 'pairs from-rankings'); one --model only." };
        var plot = new Option<string?>("--plot") { Description = "Write mean reward against KL for every --model as a PNG, with the first model's best-of-n reward as a line (a model without a reference sits at KL 0)." };
        var threads = new Option<int>("--threads") { Description = "Threads for the decoder's kernels and the classifier's encoder.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var json = CliContext.JsonOption();
        var encoder = new TrainingHeadCommands.EncoderOptions();
        var command = new Command("generations", "Sample completions from a model and score them with a classifier or reward model: mean reward of one sample, best-of-n reward, KL to the reference, distinct-2.")
        {
            model, promptsFile, prefixWords, take, classifier, label, rewardModel, samples, maxNewTokens, reference, seed, rankings, plot, threads, json,
        };
        encoder.AddTo(command);
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var classifierPath = parse.GetValue(classifier);
            var rewardPath = parse.GetValue(rewardModel);
            if ((classifierPath is null) == (rewardPath is null))
            {
                throw new CliUsageException("Give exactly one of --classifier (with --label) and --reward-model.");
            }

            if (classifierPath is not null && parse.GetValue(label) is null)
            {
                throw new CliUsageException("--classifier needs --label: the label whose probability is the reward.");
            }

            var models = parse.GetRequiredValue(model);
            if (models.Length > 1 && parse.GetValue(rankings) is not null)
            {
                throw new CliUsageException("--rankings writes one model's completions: give one --model.");
            }

            var seedValue = parse.GetValue(seed);
            var lines = (await File.ReadAllLinesAsync(TrainingHeadCommands.Existing(parse.GetRequiredValue(promptsFile)), cancellationToken).ConfigureAwait(false))
                .Where(l => !string.IsNullOrWhiteSpace(l)).ToArray();
            IReadOnlyList<string> prompts = lines;
            if (parse.GetValue(prefixWords) is { } words)
            {
                var (min, max) = ParseRange(words);
                prompts = GenerationRewardEvaluator.Prefixes(lines, min, max, seedValue);
            }

            if (parse.GetValue(take) is int n)
            {
                prompts = prompts.Take(n).ToArray();
            }

            if (prompts.Count == 0)
            {
                throw new CliUsageException($"{parse.GetRequiredValue(promptsFile).FullName} gives no prompts{(parse.GetValue(prefixWords) is null ? string.Empty : " longer than --prefix-words")}.");
            }

            var options = new GenerationRewardOptions { SamplesPerPrompt = parse.GetValue(samples), MaxNewTokens = parse.GetValue(maxNewTokens), Seed = seedValue, Threads = parse.GetValue(threads) };
            try
            {
                options.Validate();
            }
            catch (InvalidOptionsException ex)
            {
                throw new CliUsageException(ex.Message, ex);
            }

            using var enc = await encoder.OpenAsync(parse, classifierPath ?? rewardPath, options.Threads, cancellationToken).ConfigureAwait(false);
            var scorer = classifierPath is not null
                ? (await LlmAdapt.Training.Heads.TextClassifier.LoadAsync(classifierPath, enc.Generator, cancellationToken: cancellationToken).ConfigureAwait(false)).AsScorer(parse.GetValue(label)!)
                : (IResponseScorer)await LlmAdapt.Training.Reward.RewardModel.LoadAsync(rewardPath!, enc.Generator, cancellationToken: cancellationToken).ConfigureAwait(false);
            var measured = new List<(string Name, GenerationRewardReport Report)>();
            foreach (var folder in models)
            {
                var report = await GenerationRewardEvaluator.EvaluateAsync(folder.FullName, prompts, scorer, options, parse.GetValue(reference)?.FullName, new TenthsProgress<GenerationProgress>(context, "sampling", "prompts", p => (p.Completed, p.Total)), cancellationToken).ConfigureAwait(false);
                measured.Add((folder.Name, report));
                await WriteAsync(folder, report).ConfigureAwait(false);
            }

            if (parse.GetValue(plot) is { } png)
            {
                var first = measured[0];
                await TrainingConsole.WriteRewardKlPlotAsync(
                    png,
                    measured.Select(m => (m.Name, m.Report.KL ?? 0, m.Report.MeanReward)).ToArray(),
                    (Invariant($"best-of-{first.Report.SamplesPerPrompt}, {first.Name}"), first.Report.BestOfNReward)).ConfigureAwait(false);
                await context.Out.WriteLineAsync($"reward against KL written to {Path.GetFullPath(png)}").ConfigureAwait(false);
            }

            return CliApp.Success;

            async Task WriteAsync(DirectoryInfo folder, GenerationRewardReport report)
            {
                var kl = report.KL is { } k ? Invariant($"KL {k:F3} ± {report.KLStandardError:F3} nats against the {(report.Reference == GenerationRewardEvaluator.AdapterOffReference ? report.Reference : "reference " + report.Reference)}") : "no KL (no reference)";
                await context.Out.WriteLineAsync(Invariant($"{folder.Name}: {report.Prompts} prompts × {report.SamplesPerPrompt} samples: reward {report.MeanReward:F4} ± {report.MeanRewardStandardError:F4}, best-of-{report.SamplesPerPrompt} {report.BestOfNReward:F4}; {kl}; distinct-2 {report.Distinct2:F4}; {report.MeanTokens:F1} tokens per completion, {report.EndOfSequenceRate:P0} ended by end-of-text, {report.EmptyCompletions} empty")).ConfigureAwait(false);
                if (parse.GetValue(rankings) is { } rankingsPath)
                {
                    var written = await PreferenceDataWriter.WriteRankingsAsync(rankingsPath, report.Rankings, cancellationToken).ConfigureAwait(false);
                    await context.Out.WriteLineAsync($"{written} rankings written to {Path.GetFullPath(rankingsPath)}").ConfigureAwait(false);
                }

                if (parse.GetValue(json))
                {
                    context.WriteJson(new
                    {
                        model = folder.FullName,
                        prompts = report.Prompts,
                        samples_per_prompt = report.SamplesPerPrompt,
                        mean_reward = report.MeanReward,
                        mean_reward_se = report.MeanRewardStandardError,
                        best_of_n_reward = report.BestOfNReward,
                        kl = report.KL,
                        kl_se = report.KLStandardError,
                        distinct_2 = report.Distinct2,
                        mean_tokens = report.MeanTokens,
                        end_of_sequence_rate = report.EndOfSequenceRate,
                        empty_completions = report.EmptyCompletions,
                        reference = report.Reference,
                        rankings = report.Rankings.Count,
                    });
                }
            }
        }));
        return command;

        static (int Min, int Max) ParseRange(string text)
        {
            var parts = text.Split('-', StringSplitOptions.TrimEntries);
            if (parts.Length is 1 or 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var min)
                && int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var max)
                && min >= 1 && max >= min)
            {
                return (min, max);
            }

            throw new CliUsageException($"--prefix-words '{text}': give K or MIN-MAX with 1 ≤ MIN ≤ MAX.");
        }
    }

    /// <summary>
    /// Holds the selected pairs to DPO's limits (a response to learn from, chosen ≠ rejected): the first bad pair stops
    /// the command naming its file and line, or with <paramref name="drop"/> every bad pair is listed and left out.
    /// </summary>
    private static IReadOnlyList<PreferencePair> Checked(IReadOnlyList<PreferencePair> pairs, bool drop, CliContext context)
    {
        var kept = new List<PreferencePair>(pairs.Count);
        foreach (var pair in pairs)
        {
            if (PreferenceLimits.Default.Check(pair) is not { } problem)
            {
                kept.Add(pair);
            }
            else if (drop)
            {
                context.Error.WriteLine($"dropped {pair.Origin}: {problem}");
            }
            else
            {
                throw new InvalidDataFileException($"{pair.Origin}: {problem} (--drop-invalid leaves such pairs out)");
            }
        }

        if (kept.Count < pairs.Count)
        {
            context.Error.WriteLine($"dropped {pairs.Count - kept.Count} of {pairs.Count} pairs");
        }

        return kept;
    }

    private static string Describe(IReadOnlyDictionary<string, double> metrics, string prefix)
        => string.Join(", ", s_metrics.Where(n => metrics.ContainsKey(prefix + n)).Select(n => Invariant($"{prefix}{n} {metrics[prefix + n]:F4}")));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Writes "what: done/total unit" to standard error about every tenth of the way (reference scoring, sampling).</summary>
    private sealed class TenthsProgress<T>(CliContext context, string what, string unit, Func<T, (int Completed, int Total)> read) : IProgress<T>
    {
        private int _shown = -1;

        public void Report(T value)
        {
            var (completed, total) = read(value);
            var tenth = completed * 10 / Math.Max(1, total);
            if (tenth != _shown)
            {
                _shown = tenth;
                context.Error.WriteLine($"{what}: {completed}/{total} {unit}");
            }
        }
    }
}
