using LlmAdapt.Embeddings;
using System.Globalization;
using LlmAdapt.Training.Embeddings;
using LlmAdapt.Training.Internal;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Training.Heads;

/// <summary>
/// Transfer learning: trains a classification head (multinomial logistic regression or a small MLP) on the frozen
/// embeddings of an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>, with AdamW, mini-batches, weight decay,
/// optional class weights and early stopping on a validation split. The same seed and data give the same weights.
/// Writes a folder loadable with <see cref="TextClassifier.LoadAsync"/>: <c>head.safetensors</c> and <c>manifest.json</c>
/// (labels, embedding model and dimension, head shape, validation metrics, SHA-256 of the weights).
/// </summary>
public sealed partial class TaskHeadTrainer : IFineTuner
{
    /// <summary>The name the trainer registers under.</summary>
    public const string TrainerName = "task-head";

    internal const string Format = "llmadapt.text-classifier";

    private readonly IEmbeddingGenerator<string, Embedding<float>> _embeddings;
    private readonly ILogger _logger;

    /// <summary>Initializes the trainer.</summary>
    /// <param name="embeddings">The frozen encoder; wrap it in a <see cref="DiskCachingEmbeddingGenerator"/> to embed each text once across runs.</param>
    /// <param name="options">The settings, or <see langword="null"/> for the defaults.</param>
    /// <param name="logger">A logger, or <see langword="null"/>.</param>
    /// <exception cref="InvalidOptionsException">An option is out of range (every problem is listed).</exception>
    public TaskHeadTrainer(IEmbeddingGenerator<string, Embedding<float>> embeddings, TaskHeadOptions? options = null, ILogger<TaskHeadTrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        Options = options ?? new TaskHeadOptions();
        Options.Validate();
        _embeddings = embeddings;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Name => TrainerName;

    /// <summary>Gets the settings.</summary>
    public TaskHeadOptions Options { get; }

    /// <inheritdoc />
    public Task<FineTunedArtifact> FineTuneAsync(FineTuningRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => FineTuneAsync(request, progress, null, cancellationToken);

    /// <summary>Trains a head on <paramref name="request"/>, reporting embedding progress too.</summary>
    /// <param name="request">Examples with <see cref="TrainingExample.Input"/> as text and <see cref="TrainingExample.Label"/> as class; the output folder.</param>
    /// <param name="progress">Receives a report after every epoch.</param>
    /// <param name="embeddingProgress">Receives progress while the distinct texts are embedded.</param>
    /// <param name="cancellationToken">Stops embedding or training; nothing is written then.</param>
    /// <returns>The folder written, with validation <c>accuracy</c>, <c>macro_f1</c> and <c>ece</c> in the report.</returns>
    /// <exception cref="ArgumentException">An example has no label, no text (null) or a weight that is not positive; or
    /// <see cref="FineTuningRequest.BaseModel"/> names a model other than the encoder's (a head's only base is its encoder).</exception>
    /// <exception cref="LlmAdaptException">The training set has fewer than two classes, a validation label is unseen in
    /// training, or the encoder returns non-finite or ragged features.</exception>
    public async Task<FineTunedArtifact> FineTuneAsync(FineTuningRequest request, IProgress<TrainingProgress>? progress, IProgress<EmbeddingProgress>? embeddingProgress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.OutputPath);
        var training = request.TrainingSet ?? throw new ArgumentException("The request has no training set.", nameof(request));
        if (training.Count == 0)
        {
            throw new ArgumentException("The training set is empty.", nameof(request));
        }

        if (request.BaseModel is not null)
        {
            EmbeddingIdentity.RequireBaseModel(request.BaseModel, EmbeddingIdentity.Resolve(_embeddings, Options.EmbeddingModelId), nameof(request));
        }

        Check(training, "training");
        var labels = training.Select(e => e.Label!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (labels.Length < 2)
        {
            throw new LlmAdaptException($"The training set has one class only ('{labels[0]}', {training.Count} examples); a classifier needs at least two.");
        }

        var labelIndex = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        var random = new Random(request.Seed);
        IReadOnlyList<TrainingExample> train;
        IReadOnlyList<TrainingExample> validation;
        if (request.ValidationSet is { } given)
        {
            Check(given, "validation");
            var unseen = given.FirstOrDefault(e => !labelIndex.ContainsKey(e.Label!));
            if (unseen is not null)
            {
                throw new LlmAdaptException($"Validation example {unseen.Origin ?? "?"} has label '{unseen.Label}', which the training set does not have (labels: {string.Join(", ", labels)}).");
            }

            train = training;
            validation = given;
        }
        else
        {
            (train, validation) = Options.ValidationSplit == ValidationSplit.BySourceText
                ? SourceTextSplit(training, Options.ValidationFraction, random)
                : StratifiedSplit(training, Options.ValidationFraction, random);
        }

        var modelId = EmbeddingIdentity.Resolve(_embeddings, Options.EmbeddingModelId);
        var texts = train.Concat(validation).Select(e => e.Input).ToArray();
        var all = train.Concat(validation).ToArray();
        var (rows, dimension) = await TextFeatures.EmbedAsync(_embeddings, texts, i => Describe(all[i], i), embeddingProgress, cancellationToken).ConfigureAwait(false);
        var trainRows = rows.AsSpan(0, train.Count).ToArray();
        var validationRows = rows.AsSpan(train.Count).ToArray();
        var trainY = train.Select(e => labelIndex[e.Label!]).ToArray();
        var validationY = validation.Select(e => labelIndex[e.Label!]).ToArray();

        var classWeights = new double[labels.Length];
        for (var k = 0; k < labels.Length; k++)
        {
            var n = trainY.Count(y => y == k);
            classWeights[k] = Options.ClassWeighting == ClassWeighting.Balanced && n > 0 ? (double)train.Count / (labels.Length * n) : 1.0;
        }

        var exampleWeights = train.Select(e => Options.WeightByLength ? e.Weight * Math.Sqrt(Math.Max(1, WordCount(e.Input))) : e.Weight).ToArray();
        var standardization = HeadNetwork.ComputeStandardization(trainRows, dimension);
        var standardizedRows = HeadNetwork.Standardize(trainRows, standardization.Mean, standardization.Scale);
        var logits = new float[Options.BatchSize * labels.Length];
        var dLogits = new float[Options.BatchSize * labels.Length];
        var c = labels.Length;
        var smoothing = Options.LabelSmoothing;
        var probabilities = new double[c];
        EpochLoop LoopFor(HeadNetwork network) => new()
        {
            Network = network,
            TrainCount = train.Count,
            Settings = Options,
            PlateauDecay = Options.PlateauDecay,
            TrainBatch = (order, start, count, rng) =>
            {
                var input = network.InputBuffer(count);
                for (var j = 0; j < count; j++)
                {
                    standardizedRows.AsSpan(order[start + j] * dimension, dimension).CopyTo(input.Slice(j * dimension, dimension));
                }

                network.ForwardInputBuffer(count, logits, rng);
                double loss = 0;
                double weightSum = 0;
                for (var j = 0; j < count; j++)
                {
                    var i = order[start + j];
                    var p = probabilities.AsSpan(0, c);
                    Classification.Softmax(logits.AsSpan(j * c, c), p);
                    var w = exampleWeights[i] * classWeights[trainY[i]];
                    weightSum += w;
                    loss -= w * Math.Log(Math.Max(p[trainY[i]], 1e-12)); // reported as plain cross-entropy, smoothing or not
                    for (var k = 0; k < c; k++)
                    {
                        var target = (k == trainY[i] ? 1 - smoothing : 0) + (smoothing / c);
                        dLogits[(j * c) + k] = (float)(w * (p[k] - target));
                    }
                }

                var norm = (float)(1 / weightSum);
                for (var q = 0; q < count * c; q++)
                {
                    dLogits[q] *= norm;
                }

                network.Backward(dLogits, count);
                return loss / weightSum;
            },
            ValidationLoss = () => validationRows.Length == 0 ? null : Classification.CrossEntropy(network, validationRows, validationY),
        };

        var (network, report, bestEpoch) = await HeadEnsemble.TrainAsync(Options, dimension, labels.Length, request.Seed, random, standardization, LoopFor, progress, cancellationToken).ConfigureAwait(false);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["train_accuracy"] = Classification.Accuracy(network, trainRows, trainY),
            ["best_epoch"] = bestEpoch,
        };
        if (validationRows.Length > 0)
        {
            var m = ClassificationMetrics.Compute(labels, validationY, Classification.Predict(network, validationRows));
            metrics["accuracy"] = m.Accuracy;
            metrics["macro_f1"] = m.MacroF1;
            metrics["ece"] = m.ExpectedCalibrationError;
        }

        var manifest = new HeadManifest
        {
            Format = Format,
            EmbeddingModel = modelId,
            EmbeddingDimension = dimension,
            Labels = labels,
            Head = HeadShape.Of(Options, network),
            Metrics = metrics,
            Settings = Settings(request),
            CreatedUtc = DateTimeOffset.UtcNow,
        };
        var artifact = await HeadFiles.SaveArtifactAsync(request.OutputPath, network, manifest, ArtifactKinds.Classifier, report, cancellationToken).ConfigureAwait(false);
        LogTrained(_logger, Options.Head, train.Count, labels.Length, report.Steps, metrics.GetValueOrDefault("accuracy", double.NaN));
        return artifact;
    }

    internal static string Describe(TrainingExample example, int index) => example.Origin is { } origin ? $"example {origin}" : $"example #{index + 1}";

    private static int WordCount(string text)
    {
        var count = 0;
        var inWord = false;
        foreach (var ch in text)
        {
            var space = char.IsWhiteSpace(ch);
            if (!space && !inWord)
            {
                count++;
            }

            inWord = !space;
        }

        return count;
    }

    private static void Check(IReadOnlyList<TrainingExample> examples, string set)
    {
        for (var i = 0; i < examples.Count; i++)
        {
            var e = examples[i] ?? throw new ArgumentException($"The {set} set has a null example at index {i}.");
            if (string.IsNullOrWhiteSpace(e.Label))
            {
                throw new ArgumentException($"{set} {Describe(e, i)} has no label.");
            }

            if (e.Input is null)
            {
                throw new ArgumentException($"{set} {Describe(e, i)} has no text.");
            }

            if (!(e.Weight > 0) || !double.IsFinite(e.Weight))
            {
                throw new ArgumentException($"{set} {Describe(e, i)} has weight {e.Weight}; weights must be positive and finite.");
            }
        }
    }

    private static (IReadOnlyList<TrainingExample> Train, IReadOnlyList<TrainingExample> Validation) StratifiedSplit(IReadOnlyList<TrainingExample> examples, double fraction, Random random)
    {
        if (fraction <= 0)
        {
            return (examples, []);
        }

        var train = new List<TrainingExample>();
        var validation = new List<TrainingExample>();
        foreach (var group in examples.GroupBy(e => e.Label!, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var members = group.ToArray();
            random.Shuffle(members);
            var held = members.Length >= 2 ? (int)Math.Round(members.Length * fraction) : 0;
            validation.AddRange(members.Take(held));
            train.AddRange(members.Skip(held));
        }

        return (train, validation);
    }

    private static (IReadOnlyList<TrainingExample> Train, IReadOnlyList<TrainingExample> Validation) SourceTextSplit(IReadOnlyList<TrainingExample> examples, double fraction, Random random)
    {
        if (fraction <= 0)
        {
            return (examples, []);
        }

        var (train, held) = PhraseGroups.Split(PhraseGroups.Assign(examples.Select(e => e.Input).ToArray()), fraction, random);
        return (train.Select(i => examples[i]).ToArray(), held.Select(i => examples[i]).ToArray());
    }

    private Dictionary<string, string> Settings(FineTuningRequest request) => new(StringComparer.Ordinal)
    {
        ["learning_rate"] = Options.LearningRate.ToString(CultureInfo.InvariantCulture),
        ["weight_decay"] = Options.WeightDecay.ToString(CultureInfo.InvariantCulture),
        ["batch_size"] = Options.BatchSize.ToString(CultureInfo.InvariantCulture),
        ["max_epochs"] = Options.MaxEpochs.ToString(CultureInfo.InvariantCulture),
        ["patience"] = Options.Patience.ToString(CultureInfo.InvariantCulture),
        ["class_weighting"] = Options.ClassWeighting.ToString(),
        ["input_dropout"] = Options.InputDropout.ToString(CultureInfo.InvariantCulture),
        ["plateau_decay"] = Options.PlateauDecay.ToString(CultureInfo.InvariantCulture),
        ["ensemble_size"] = Options.EnsembleSize.ToString(CultureInfo.InvariantCulture),
        ["weight_by_length"] = Options.WeightByLength ? "true" : "false",
        ["label_smoothing"] = Options.LabelSmoothing.ToString(CultureInfo.InvariantCulture),
        ["validation_split"] = Options.ValidationSplit.ToString(),
        ["seed"] = request.Seed.ToString(CultureInfo.InvariantCulture),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Trained a {Head} head on {Examples} examples, {Classes} classes, {Steps} steps; validation accuracy {Accuracy:F4}.")]
    private static partial void LogTrained(ILogger logger, HeadKind head, int examples, int classes, int steps, double accuracy);
}
