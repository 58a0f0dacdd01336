using System.CommandLine;
using System.Globalization;
using LlmAdapt.Cli.Heads;
using LlmAdapt.Cli.Training;
using LlmAdapt.Onnx.Embeddings;
using System.Text.Json;
using LlmAdapt.Preference;
using LlmAdapt.Preference.Feedback;
using LlmAdapt.Training;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;

namespace LlmAdapt.Cli.Commands;

/// <summary>
/// <c>llmadapt train classifier|reward</c>, <c>llmadapt eval classifier|reward</c>, <c>llmadapt pairs from-rankings|from-feedback</c>:
/// transfer learning and reward models on a frozen encoder (the built-in one unless <c>--embedding-model</c> names
/// another), and preference data preparation.
/// </summary>
internal static class TrainingHeadCommands
{
    /// <summary>Adds the verbs to <paramref name="root"/>, joining <c>train</c>, <c>eval</c> and <c>pairs</c> groups other verb sets may have made.</summary>
    public static void AddTo(Command root, CliContext context)
    {
        var train = CommandGroups.Train(root);
        train.Subcommands.Add(CreateTrainClassifier(context));
        train.Subcommands.Add(CreateTrainReward(context));
        var eval = CommandGroups.Eval(root);
        eval.Subcommands.Add(CreateEvalClassifier(context));
        eval.Subcommands.Add(CreateEvalReward(context));
        var pairs = CommandGroups.Pairs(root);
        pairs.Subcommands.Add(CreateFromRankings(context));
        pairs.Subcommands.Add(CreateFromFeedback(context));
    }

    internal sealed class EncoderOptions
    {
        public Option<string?> ModelDirectory { get; } = new("--embedding-model") { Description = "An ONNX sentence-transformer folder; default: the built-in all-MiniLM-L6-v2." };

        public Option<string?> CacheDirectory { get; } = new("--cache-dir") { Description = $"Where embeddings are cached (default: ${HeadCliSupport.CacheEnvironmentVariable}, else LlmAdapt/embeddings under local app data)." };

        public Option<bool> NoCache { get; } = new("--no-cache") { Description = "Do not read or write the embedding cache." };

        public Option<int?> Layers { get; } = new("--embedding-layers")
        {
            Description = "Pool the hidden states of the encoder's last N layers, side by side (N × 384 features for MiniLM): richer features for a head. Default: 1 (the sentence embedding); 'eval' defaults to what the model was trained with.",
        };

        public Option<string?> Pooling { get; } = new Option<string?>("--embedding-pooling")
        {
            Description = "mean, cls or mean-max (mean and maximum side by side). Default: the model's own (mean for MiniLM); 'eval' defaults to what the model was trained with.",
        }.AcceptOnlyFromAmong("mean", "cls", "mean-max");

        public Option<string?> Normalize { get; } = new Option<string?>("--embedding-normalize")
        {
            Description = "true: scale each pooled part to unit length; false: keep the raw pooled states (the head standardises features either way). Default: the model's own (true for MiniLM); 'eval' defaults to what the model was trained with.",
        }.AcceptOnlyFromAmong("true", "false");

        public void AddTo(Command command)
        {
            command.Options.Add(ModelDirectory);
            command.Options.Add(CacheDirectory);
            command.Options.Add(NoCache);
            command.Options.Add(Layers);
            command.Options.Add(Pooling);
            command.Options.Add(Normalize);
        }

        /// <summary>Opens the encoder; <paramref name="trainedModel"/> (for eval) supplies the features it was trained on where the options are not given.</summary>
        public Task<HeadCliSupport.Encoder> OpenAsync(ParseResult parse, string? trainedModel = null, CancellationToken cancellationToken = default)
            => OpenAsync(parse, trainedModel, 0, cancellationToken);

        /// <summary>As <see cref="OpenAsync(ParseResult, string?, CancellationToken)"/>, on at most <paramref name="threads"/> threads (0: ONNX Runtime's embedding defaults).</summary>
        public async Task<HeadCliSupport.Encoder> OpenAsync(ParseResult parse, string? trainedModel, int threads, CancellationToken cancellationToken)
        {
            var trained = trainedModel is null ? (Layers: 1, Pooling: null, Normalize: null) : await HeadCliSupport.FeaturesOfAsync(trainedModel, cancellationToken).ConfigureAwait(false);
            var layers = parse.GetValue(Layers) ?? trained.Layers;
            var pooling = parse.GetValue(Pooling) is { } name ? OnnxEmbeddingOptions.ParsePooling(name) : trained.Pooling;
            var normalize = parse.GetValue(Normalize) is { } flag ? flag == "true" : trained.Normalize;
            return HeadCliSupport.OpenEncoder(parse.GetValue(ModelDirectory), parse.GetValue(CacheDirectory), parse.GetValue(NoCache), layers, pooling, normalize, threads);
        }
    }

    private sealed class TableOptions
    {
        public Option<string> TextColumn { get; } = new("--text-column") { Description = "The text column: a header name or a 0-based index.", DefaultValueFactory = _ => "sentence" };

        public Option<string> LabelColumn { get; } = new("--label-column") { Description = "The label column: a header name or a 0-based index.", DefaultValueFactory = _ => "label" };

        public Option<string?> Format { get; } = new Option<string?>("--format") { Description = "tsv, csv or jsonl (default: by the file's extension)." }.AcceptOnlyFromAmong("tsv", "csv", "jsonl");

        public Option<bool> NoHeader { get; } = new("--no-header") { Description = "The TSV/CSV file has no header line; columns are 0-based indices." };

        public void AddTo(Command command)
        {
            command.Options.Add(TextColumn);
            command.Options.Add(LabelColumn);
            command.Options.Add(Format);
            command.Options.Add(NoHeader);
        }

        public Task<IReadOnlyList<TrainingExample>> ReadAsync(ParseResult parse, string path, CancellationToken cancellationToken)
        {
            TextTableFormat? format = parse.GetValue(Format) switch
            {
                "tsv" => TextTableFormat.Tsv,
                "csv" => TextTableFormat.Csv,
                "jsonl" => TextTableFormat.Jsonl,
                _ => null,
            };
            return LabelledTextReader.ReadAsync(path, parse.GetRequiredValue(TextColumn), parse.GetRequiredValue(LabelColumn), format, !parse.GetValue(NoHeader), cancellationToken);
        }
    }

    private static Command CreateTrainClassifier(CliContext context)
    {
        var trainFile = new Option<FileInfo>("--train") { Description = "Labelled training texts (TSV, CSV or JSONL).", Required = true };
        var devFile = new Option<FileInfo?>("--dev") { Description = "Labelled validation texts for early stopping; default: hold out --validation-fraction of --train." };
        var table = new TableOptions();
        var head = new Option<string>("--head") { Description = "linear (logistic regression) or mlp (one hidden layer with dropout).", DefaultValueFactory = _ => "linear" }.AcceptOnlyFromAmong("linear", "mlp");
        var output = new Option<string>("--out") { Description = "The classifier folder to write (head.safetensors + manifest.json).", Required = true };
        var plot = new Option<string?>("--plot") { Description = "Save the loss curve as a PNG." };
        var epochs = new Option<int>("--epochs") { Description = "Most epochs.", DefaultValueFactory = _ => 30 };
        var learningRate = new Option<double>("--lr") { Description = "AdamW learning rate.", DefaultValueFactory = _ => 1e-3 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay.", DefaultValueFactory = _ => 0.01 };
        var batch = new Option<int>("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 64 };
        var hidden = new Option<int>("--hidden") { Description = "MLP hidden width.", DefaultValueFactory = _ => 256 };
        var dropout = new Option<double>("--dropout") { Description = "MLP dropout.", DefaultValueFactory = _ => 0.2 };
        var inputDropout = new Option<double>("--input-dropout") { Description = "Dropout on the input embedding during training.", DefaultValueFactory = _ => 0 };
        var patience = new Option<int>("--patience") { Description = "Epochs without a better validation loss before stopping (0: never).", DefaultValueFactory = _ => 3 };
        var fraction = new Option<double>("--validation-fraction") { Description = "Share of --train held out when there is no --dev.", DefaultValueFactory = _ => 0.1 };
        var classWeights = new Option<string>("--class-weights") { Description = "none or balanced.", DefaultValueFactory = _ => "none" }.AcceptOnlyFromAmong("none", "balanced");
        var ensemble = new Option<int>("--ensemble") { Description = "Train this many heads (own initial weights, order and dropout) and average them into one.", DefaultValueFactory = _ => 1 };
        var smoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing ε (0: none).", DefaultValueFactory = _ => 0 };
        var split = new Option<string>("--validation-split") { Description = "How to hold out validation texts when there is no --dev: stratified, or by-source-text (a sentence and its labelled phrases stay together, for phrase-level data such as SST-2).", DefaultValueFactory = _ => "stratified" }.AcceptOnlyFromAmong("stratified", "by-source-text");
        var byLength = new Option<bool>("--weight-by-length") { Description = "Weigh each example by √(words), so whole sentences count more than short phrases." };
        var sample = new Option<int?>("--sample") { Description = "Train on a random sample of this many training examples (seeded)." };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var json = CliContext.JsonOption();
        var encoder = new EncoderOptions();

        var command = new Command("classifier", "Train a text classifier head on frozen embeddings (transfer learning).")
        {
            trainFile, devFile, head, output, plot, epochs, learningRate, weightDecay, batch, hidden, dropout, inputDropout, patience, fraction, classWeights, ensemble, smoothing, split, byLength, sample, seed, json,
        };
        table.AddTo(command);
        encoder.AddTo(command);
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var options = new TaskHeadOptions
            {
                Head = parse.GetRequiredValue(head) == "mlp" ? HeadKind.Mlp : HeadKind.Linear,
                MaxEpochs = parse.GetValue(epochs),
                LearningRate = parse.GetValue(learningRate),
                WeightDecay = parse.GetValue(weightDecay),
                BatchSize = parse.GetValue(batch),
                HiddenSize = parse.GetValue(hidden),
                Dropout = parse.GetValue(dropout),
                InputDropout = parse.GetValue(inputDropout),
                Patience = parse.GetValue(patience),
                ValidationFraction = parse.GetValue(fraction),
                ClassWeighting = parse.GetRequiredValue(classWeights) == "balanced" ? ClassWeighting.Balanced : ClassWeighting.None,
                EnsembleSize = parse.GetValue(ensemble),
                LabelSmoothing = parse.GetValue(smoothing),
                WeightByLength = parse.GetValue(byLength),
                ValidationSplit = parse.GetRequiredValue(split) == "by-source-text" ? ValidationSplit.BySourceText : ValidationSplit.Stratified,
            };
            ValidateOptions(options.Validate);
            var trainSet = await table.ReadAsync(parse, Existing(parse.GetRequiredValue(trainFile)), cancellationToken).ConfigureAwait(false);
            var seedValue = parse.GetValue(seed);
            if (parse.GetValue(sample) is int n && n < trainSet.Count)
            {
                var shuffled = trainSet.ToArray();
                new Random(seedValue).Shuffle(shuffled);
                trainSet = shuffled[..n];
            }

            IReadOnlyList<TrainingExample>? devSet = parse.GetValue(devFile) is { } dev ? await table.ReadAsync(parse, Existing(dev), cancellationToken).ConfigureAwait(false) : null;
            using var enc = await encoder.OpenAsync(parse).ConfigureAwait(false);
            var trainer = new TaskHeadTrainer(enc.Generator, options);
            var outputPath = parse.GetRequiredValue(output);
            var artifact = await HeadCliSupport.WithProgressAsync(context, options.MaxEpochs, (embedProgress, trainProgress) => trainer.FineTuneAsync(
                new FineTuningRequest { TrainingSet = trainSet, ValidationSet = devSet, OutputPath = outputPath, Seed = seedValue },
                trainProgress,
                embedProgress,
                cancellationToken)).ConfigureAwait(false);

            var m = artifact.Report.Metrics;
            await context.Out.WriteLineAsync($"Wrote {artifact.Path} ({options.Head} head, {artifact.TrainableParameters:N0} parameters, {artifact.Report.History.Count} epochs{(artifact.Report.StoppedEarly ? ", stopped early" : string.Empty)}, {artifact.Report.Duration.TotalSeconds:F1} s).").ConfigureAwait(false);
            if (m.TryGetValue("accuracy", out var accuracy))
            {
                await context.Out.WriteLineAsync(FormattableString.Invariant($"Validation: accuracy {accuracy:F4}, macro-F1 {m["macro_f1"]:F4}, ECE {m["ece"]:F4} (best epoch {m["best_epoch"]})")).ConfigureAwait(false);
            }

            await WritePlotAsync(context, parse.GetValue(plot), artifact.Report, "classifier training").ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                context.WriteJson(new
                {
                    model = artifact.Path,
                    head = options.Head.ToString().ToLowerInvariant(),
                    embedding_model = artifact.BaseModel,
                    train_examples = trainSet.Count,
                    epochs = artifact.Report.History.Count,
                    seconds = artifact.Report.Duration.TotalSeconds,
                    accuracy = m.GetValueOrDefault("accuracy", double.NaN),
                    macro_f1 = m.GetValueOrDefault("macro_f1", double.NaN),
                    ece = m.GetValueOrDefault("ece", double.NaN),
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static Command CreateEvalClassifier(CliContext context)
    {
        var model = new Option<string>("--model") { Description = "A classifier folder written by 'train classifier'.", Required = true };
        var testFile = new Option<FileInfo>("--test") { Description = "Labelled test texts (TSV, CSV or JSONL).", Required = true };
        var table = new TableOptions();
        var json = CliContext.JsonOption();
        var encoder = new EncoderOptions();
        var command = new Command("classifier", "Measure a classifier: accuracy, macro-F1, confusion matrix, expected calibration error.") { model, testFile, json };
        table.AddTo(command);
        encoder.AddTo(command);
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var examples = await table.ReadAsync(parse, Existing(parse.GetRequiredValue(testFile)), cancellationToken).ConfigureAwait(false);
            using var enc = await encoder.OpenAsync(parse, parse.GetRequiredValue(model), cancellationToken).ConfigureAwait(false);
            var classifier = await TextClassifier.LoadAsync(parse.GetRequiredValue(model), enc.Generator, cancellationToken: cancellationToken).ConfigureAwait(false);
            var metrics = await HeadCliSupport.WithProgressAsync(context, 0, (embedProgress, _) => classifier.EvaluateAsync(examples, embedProgress, cancellationToken)).ConfigureAwait(false);

            await context.Out.WriteLineAsync(FormattableString.Invariant($"{metrics.Count} examples: accuracy {metrics.Accuracy:F4}, macro-F1 {metrics.MacroF1:F4}, ECE {metrics.ExpectedCalibrationError:F4}")).ConfigureAwait(false);
            var width = Math.Max(8, metrics.Labels.Max(l => l.Length) + 2);
            await context.Out.WriteLineAsync("true \\ predicted" + string.Concat(metrics.Labels.Select(l => l.PadLeft(width)))).ConfigureAwait(false);
            for (var i = 0; i < metrics.Labels.Count; i++)
            {
                await context.Out.WriteLineAsync(metrics.Labels[i].PadRight(16) + string.Concat(metrics.ConfusionMatrix[i].Select(c => c.ToString(CultureInfo.InvariantCulture).PadLeft(width)))).ConfigureAwait(false);
            }

            if (parse.GetValue(json))
            {
                context.WriteJson(new
                {
                    examples = metrics.Count,
                    labels = metrics.Labels,
                    confusion_matrix = metrics.ConfusionMatrix,
                    ece = metrics.ExpectedCalibrationError,
                    macro_f1 = metrics.MacroF1,
                    accuracy = metrics.Accuracy,
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    /// <summary>The options that pick pairs from a preference file: format, skip and take.</summary>
    internal sealed class PairOptions
    {
        public Option<string> Format { get; } = new Option<string>("--format") { Description = "auto, trl (explicit prompt), trl-implicit (HH-RLHF) or openai.", DefaultValueFactory = _ => "auto" }.AcceptOnlyFromAmong("auto", "trl", "trl-implicit", "openai");

        public Option<int> Skip { get; } = new("--skip") { Description = "Skip this many pairs from the start of the file.", DefaultValueFactory = _ => 0 };

        public Option<int?> Take { get; } = new("--take") { Description = "Use at most this many pairs (after --skip)." };

        public void AddTo(Command command)
        {
            command.Options.Add(Format);
            command.Options.Add(Skip);
            command.Options.Add(Take);
        }

        public async Task<IReadOnlyList<PreferencePair>> ReadAsync(ParseResult parse, string path, CancellationToken cancellationToken, PreferenceLimits? limits = null)
        {
            // An empty response is a response a reward model can score (HH-RLHF prefers silence to harm a few times).
            var all = await PreferenceDataReader.ReadPairsAsync(path, ParseFormat(parse.GetRequiredValue(Format)), limits ?? new PreferenceLimits { AllowEmptyResponses = true }, cancellationToken).ConfigureAwait(false);
            var skip = parse.GetValue(Skip);
            if (skip < 0 || skip >= all.Count)
            {
                throw new CliUsageException($"--skip {skip} leaves no pairs: {path} holds {all.Count}.");
            }

            var selected = all.Skip(skip);
            return (parse.GetValue(Take) is int take ? selected.Take(take) : selected).ToArray();
        }
    }

    /// <summary>Maps a <c>--format</c> value to the reader's format.</summary>
    internal static PreferenceFormat ParseFormat(string text) => text switch
    {
        "trl" => PreferenceFormat.TrlExplicit,
        "trl-implicit" => PreferenceFormat.TrlImplicit,
        "openai" => PreferenceFormat.OpenAI,
        _ => PreferenceFormat.Auto,
    };

    private static Command CreateTrainReward(CliContext context)
    {
        var pairsFile = new Option<FileInfo>("--pairs") { Description = "Preference pairs (JSONL or JSONL.gz: TRL, HH-RLHF or OpenAI shape).", Required = true };
        var validationFile = new Option<FileInfo?>("--validation") { Description = "Held-out pairs for early stopping; default: hold out 10% of --pairs (none with fewer than 10 pairs)." };
        var pairOptions = new PairOptions();
        var head = new Option<string>("--head") { Description = "linear or mlp.", DefaultValueFactory = _ => "mlp" }.AcceptOnlyFromAmong("linear", "mlp");
        var features = new Option<string>("--features") { Description = "Comma-separated: response, prompt-response, prompt, interaction, length.", DefaultValueFactory = _ => "response,prompt-response,prompt,interaction" };
        var promptTail = new Option<int>("--prompt-tail") { Description = "Characters of the prompt's end used in prompt features.", DefaultValueFactory = _ => 500 };
        var output = new Option<string>("--out") { Description = "The reward model folder to write.", Required = true };
        var plot = new Option<string?>("--plot") { Description = "Save the loss curve as a PNG." };
        var epochs = new Option<int>("--epochs") { Description = "Most epochs.", DefaultValueFactory = _ => 40 };
        var learningRate = new Option<double>("--lr") { Description = "AdamW learning rate.", DefaultValueFactory = _ => 5e-4 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay.", DefaultValueFactory = _ => 0.05 };
        var hidden = new Option<int>("--hidden") { Description = "MLP hidden width.", DefaultValueFactory = _ => 128 };
        var dropout = new Option<double>("--dropout") { Description = "MLP dropout.", DefaultValueFactory = _ => 0.3 };
        var patience = new Option<int>("--patience") { Description = "Epochs without a better validation loss before stopping (0: never).", DefaultValueFactory = _ => 5 };
        var rewardEnsemble = new Option<int>("--ensemble") { Description = "Train this many heads (own initial weights, order and dropout) and average their rewards.", DefaultValueFactory = _ => 5 };
        var rewardInputDropout = new Option<double>("--input-dropout") { Description = "Dropout on the input features during training.", DefaultValueFactory = _ => 0 };
        var margin = new Option<bool>("--use-margin") { Description = "Subtract each pair's margin inside the loss." };
        var center = new Option<double>("--center") { Description = "Reward-centring coefficient λ.", DefaultValueFactory = _ => 0.01 };
        var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
        var json = CliContext.JsonOption();
        var encoder = new EncoderOptions();
        var command = new Command("reward", "Train a Bradley–Terry reward model on frozen embeddings.")
        {
            pairsFile, validationFile, head, features, promptTail, output, plot, epochs, learningRate, weightDecay, hidden, dropout, rewardInputDropout, rewardEnsemble, patience, margin, center, seed, json,
        };
        pairOptions.AddTo(command);
        encoder.AddTo(command);
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var options = new RewardModelOptions
            {
                Head = parse.GetRequiredValue(head) == "mlp" ? HeadKind.Mlp : HeadKind.Linear,
                Features = ParseFeatures(parse.GetRequiredValue(features)),
                PromptTailCharacters = parse.GetValue(promptTail),
                MaxEpochs = parse.GetValue(epochs),
                LearningRate = parse.GetValue(learningRate),
                WeightDecay = parse.GetValue(weightDecay),
                HiddenSize = parse.GetValue(hidden),
                Dropout = parse.GetValue(dropout),
                Patience = parse.GetValue(patience),
                UseMargin = parse.GetValue(margin),
                CenteringCoefficient = parse.GetValue(center),
                EnsembleSize = parse.GetValue(rewardEnsemble),
                InputDropout = parse.GetValue(rewardInputDropout),
            };
            ValidateOptions(options.Validate);
            var pairs = await pairOptions.ReadAsync(parse, Existing(parse.GetRequiredValue(pairsFile)), cancellationToken).ConfigureAwait(false);
            IReadOnlyList<PreferencePair>? validation = parse.GetValue(validationFile) is { } v
                ? await PreferenceDataReader.ReadPairsAsync(Existing(v), ParseFormat(parse.GetRequiredValue(pairOptions.Format)), new PreferenceLimits { AllowEmptyResponses = true }, cancellationToken).ConfigureAwait(false)
                : null;
            using var enc = await encoder.OpenAsync(parse).ConfigureAwait(false);
            var trainer = new RewardModelTrainer(enc.Generator, options);
            var artifact = await HeadCliSupport.WithProgressAsync(context, options.MaxEpochs, (embedProgress, trainProgress) => trainer.TrainAsync(
                new PreferenceTrainingRequest { TrainingPairs = pairs, ValidationPairs = validation, OutputPath = parse.GetRequiredValue(output), Seed = parse.GetValue(seed) },
                trainProgress,
                embedProgress,
                cancellationToken)).ConfigureAwait(false);

            var m = artifact.Report.Metrics;
            await context.Out.WriteLineAsync($"Wrote {artifact.Path} ({options.Head} reward on {options.Features}, {pairs.Count} pairs, {artifact.Report.History.Count} epochs, {artifact.Report.Duration.TotalSeconds:F1} s).").ConfigureAwait(false);
            if (m.TryGetValue("pairwise_accuracy", out var accuracy))
            {
                await context.Out.WriteLineAsync(FormattableString.Invariant($"Validation pairwise accuracy {accuracy:F4} (training {m["train_pairwise_accuracy"]:F4}, best epoch {m["best_epoch"]})")).ConfigureAwait(false);
            }

            await WritePlotAsync(context, parse.GetValue(plot), artifact.Report, "reward model training").ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                context.WriteJson(new
                {
                    model = artifact.Path,
                    pairs = pairs.Count,
                    epochs = artifact.Report.History.Count,
                    seconds = artifact.Report.Duration.TotalSeconds,
                    train_pairwise_accuracy = m.GetValueOrDefault("train_pairwise_accuracy", double.NaN),
                    accuracy = m.GetValueOrDefault("pairwise_accuracy", double.NaN),
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static Command CreateEvalReward(CliContext context)
    {
        var model = new Option<string>("--model") { Description = "A reward model folder written by 'train reward'.", Required = true };
        var pairsFile = new Option<FileInfo>("--pairs") { Description = "Held-out preference pairs.", Required = true };
        var pairOptions = new PairOptions();
        var json = CliContext.JsonOption();
        var encoder = new EncoderOptions();
        var command = new Command("reward", "Measure a reward model's pairwise accuracy, beside the 'shorter wins' and 'longer wins' rules.") { model, pairsFile, json };
        pairOptions.AddTo(command);
        encoder.AddTo(command);
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var pairs = await pairOptions.ReadAsync(parse, Existing(parse.GetRequiredValue(pairsFile)), cancellationToken).ConfigureAwait(false);
            using var enc = await encoder.OpenAsync(parse, parse.GetRequiredValue(model), cancellationToken).ConfigureAwait(false);
            var reward = await RewardModel.LoadAsync(parse.GetRequiredValue(model), enc.Generator, cancellationToken: cancellationToken).ConfigureAwait(false);
            var metrics = await HeadCliSupport.WithProgressAsync(context, 0, (embedProgress, _) => reward.EvaluateAsync(pairs, embedProgress, cancellationToken)).ConfigureAwait(false);
            var shorter = PairwiseMetrics.LengthRule(pairs, shorterWins: true);
            var longer = PairwiseMetrics.LengthRule(pairs, shorterWins: false);
            await context.Out.WriteLineAsync(FormattableString.Invariant($"{metrics.Count} pairs: reward model {metrics.Accuracy:F4} (mean margin {metrics.MeanMargin:F3}, {metrics.Ties} ties); shorter wins {shorter.Accuracy:F4}; longer wins {longer.Accuracy:F4}")).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                context.WriteJson(new
                {
                    pairs = metrics.Count,
                    shorter_wins = shorter.Accuracy,
                    longer_wins = longer.Accuracy,
                    mean_margin = metrics.MeanMargin,
                    accuracy = metrics.Accuracy,
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static Command CreateFromRankings(CliContext context)
    {
        var input = new Option<FileInfo>("--in") { Description = "Rankings JSONL: {prompt, responses, ranking | ranks | scores}.", Required = true };
        var output = new Option<string>("--out") { Description = "The pairs file to write (.gz compresses).", Required = true };
        var strategy = new Option<string>("--strategy") { Description = "all, best-vs-rest or adjacent.", DefaultValueFactory = _ => "all" }.AcceptOnlyFromAmong("all", "best-vs-rest", "adjacent");
        var format = new Option<string>("--format") { Description = "trl (explicit prompt), trl-implicit or openai.", DefaultValueFactory = _ => "trl" }.AcceptOnlyFromAmong("trl", "trl-implicit", "openai");
        var json = CliContext.JsonOption();
        var command = new Command("from-rankings", "Turn rankings of several responses into preference pairs (ties make none; duplicates are dropped).") { input, output, strategy, format, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var rankings = await PreferenceDataReader.ReadRankingsAsync(Existing(parse.GetRequiredValue(input)), cancellationToken).ConfigureAwait(false);
            var chosen = ParseStrategy(parse.GetRequiredValue(strategy));
            var pairs = RankingPairs.ToPairs(rankings, chosen);
            var outputPath = parse.GetRequiredValue(output);
            await PreferenceDataWriter.WritePairsAsync(outputPath, pairs, ParseFormat(parse.GetRequiredValue(format)), cancellationToken).ConfigureAwait(false);
            await context.Out.WriteLineAsync($"{rankings.Count} rankings -> {pairs.Count} pairs ({chosen}) in {Path.GetFullPath(outputPath)}").ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                context.WriteJson(new { rankings = rankings.Count, pairs = pairs.Count, strategy = parse.GetRequiredValue(strategy), output = Path.GetFullPath(outputPath) });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static Command CreateFromFeedback(CliContext context)
    {
        var input = new Option<FileInfo>("--in") { Description = "A feedback store's JSON Lines file (thumbs, scores and rankings recorded by an app).", Required = true };
        var output = new Option<string>("--out") { Description = "The pairs file to write (.gz compresses).", Required = true };
        var strategy = new Option<string>("--strategy") { Description = "all, best-vs-rest or adjacent (for rankings of three or more).", DefaultValueFactory = _ => "all" }.AcceptOnlyFromAmong("all", "best-vs-rest", "adjacent");
        var format = new Option<string>("--format") { Description = "trl (explicit prompt), trl-implicit or openai.", DefaultValueFactory = _ => "trl" }.AcceptOnlyFromAmong("trl", "trl-implicit", "openai");
        var json = CliContext.JsonOption();
        var command = new Command("from-feedback", "Turn recorded user feedback into preference pairs: thumbs pair up only where a prompt has both an up and a down; scores are averaged per response.") { input, output, strategy, format, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var torn = 0;
            var records = await JsonLinesFeedbackStore.ReadFileAsync(Existing(parse.GetRequiredValue(input)), _ => torn++, cancellationToken).ToListAsync(cancellationToken).ConfigureAwait(false);
            var (rankings, pairs) = FeedbackExport.ToPairs(records, ParseStrategy(parse.GetRequiredValue(strategy)));
            var outputPath = parse.GetRequiredValue(output);
            await PreferenceDataWriter.WritePairsAsync(outputPath, pairs, ParseFormat(parse.GetRequiredValue(format)), cancellationToken).ConfigureAwait(false);
            if (torn > 0)
            {
                await context.Error.WriteLineAsync("warning: skipped a torn last line (an append cut short by a crash).").ConfigureAwait(false);
            }

            var dropped = rankings.Dropped.Values.Sum();
            await context.Out.WriteLineAsync($"{rankings.Records} records -> {rankings.Rankings.Count} rankings -> {pairs.Count} pairs in {Path.GetFullPath(outputPath)}; {dropped} records dropped").ConfigureAwait(false);
            foreach (var (reason, count) in rankings.Dropped.OrderBy(d => d.Key))
            {
                await context.Out.WriteLineAsync($"  {count} dropped: {Describe(reason)}").ConfigureAwait(false);
            }

            if (parse.GetValue(json))
            {
                context.WriteJson(new
                {
                    records = rankings.Records,
                    rankings = rankings.Rankings.Count,
                    pairs = pairs.Count,
                    torn_lines = torn,
                    dropped = rankings.Dropped.ToDictionary(d => JsonNamingPolicy.SnakeCaseLower.ConvertName(d.Key.ToString()), d => d.Value),
                    output = Path.GetFullPath(outputPath),
                });
            }

            return CliApp.Success;
        }));
        return command;

        static string Describe(FeedbackDropReason reason) => reason switch
        {
            FeedbackDropReason.ThumbsUpOnly => "thumbs up on a prompt with no thumbs down",
            FeedbackDropReason.ThumbsDownOnly => "thumbs down on a prompt with no thumbs up",
            FeedbackDropReason.ThumbsTied => "as many thumbs up as down on the same response",
            FeedbackDropReason.SingleScoredResponse => "a score on the only scored response to its prompt",
            _ => reason.ToString(),
        };
    }

    private static PairingStrategy ParseStrategy(string text) => text switch
    {
        "best-vs-rest" => PairingStrategy.BestVersusRest,
        "adjacent" => PairingStrategy.Adjacent,
        _ => PairingStrategy.AllPairs,
    };

    private static RewardFeatures ParseFeatures(string text)
    {
        var result = RewardFeatures.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result |= part switch
            {
                "response" => RewardFeatures.Response,
                "prompt-response" => RewardFeatures.PromptAndResponse,
                "prompt" => RewardFeatures.Prompt,
                "length" => RewardFeatures.Length,
                "interaction" => RewardFeatures.Interaction,
                _ => throw new CliUsageException($"--features: unknown feature '{part}'; use response, prompt-response, prompt, interaction, length."),
            };
        }

        return result;
    }

    private static void ValidateOptions(Action validate)
    {
        try
        {
            validate();
        }
        catch (InvalidOptionsException ex)
        {
            throw new CliUsageException(ex.Message, ex);
        }
    }

    /// <summary>Returns the file's full path, or throws when it does not exist.</summary>
    internal static string Existing(FileInfo file)
        => file.Exists ? file.FullName : throw new FileNotFoundException($"{file.FullName}: no such file.", file.FullName);

    private static async Task WritePlotAsync(CliContext context, string? path, TrainingReport report, string title)
    {
        if (path is null)
        {
            return;
        }

        await TrainingConsole.WritePlotAsync(report, path, title, byEpoch: true).ConfigureAwait(false);
        await context.Out.WriteLineAsync($"Loss curve: {Path.GetFullPath(path)}").ConfigureAwait(false);
    }
}
