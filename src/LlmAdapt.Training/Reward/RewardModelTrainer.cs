using System.Globalization;
using LlmAdapt.Preference;
using LlmAdapt.Training.Embeddings;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Internal;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Training.Reward;

/// <summary>
/// Trains a Bradley–Terry reward model on frozen embeddings: r(prompt, response) = head(features), loss
/// −log σ(r_chosen − r_rejected − margin) plus λ·(r_chosen + r_rejected)² for centring, with AdamW, mini-batches and early
/// stopping on held-out pairs. Writes a folder loadable with <see cref="RewardModel.LoadAsync"/>; the report carries
/// <c>pairwise_accuracy</c> on the validation pairs.
/// </summary>
public sealed partial class RewardModelTrainer : IPreferenceTrainer
{
    /// <summary>The name the trainer registers under.</summary>
    public const string TrainerName = "reward-model";

    internal const string Format = "llmadapt.reward-model";

    private static readonly PreferenceLimits s_limits = new() { AllowEmptyResponses = true };

    private readonly IEmbeddingGenerator<string, Embedding<float>> _embeddings;
    private readonly ILogger _logger;

    /// <summary>Initializes the trainer.</summary>
    /// <param name="embeddings">The frozen encoder.</param>
    /// <param name="options">The settings, or <see langword="null"/> for the defaults.</param>
    /// <param name="logger">A logger, or <see langword="null"/>.</param>
    /// <exception cref="InvalidOptionsException">An option is out of range (every problem is listed).</exception>
    public RewardModelTrainer(IEmbeddingGenerator<string, Embedding<float>> embeddings, RewardModelOptions? options = null, ILogger<RewardModelTrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        Options = options ?? new RewardModelOptions();
        Options.Validate();
        _embeddings = embeddings;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Name => TrainerName;

    /// <summary>Gets the settings.</summary>
    public RewardModelOptions Options { get; }

    /// <inheritdoc />
    public Task<FineTunedArtifact> TrainAsync(PreferenceTrainingRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => TrainAsync(request, progress, null, cancellationToken);

    /// <summary>Trains a reward model, reporting embedding progress too.</summary>
    /// <param name="request">The pairs and output folder.</param>
    /// <param name="progress">Receives a report after every epoch.</param>
    /// <param name="embeddingProgress">Receives progress while texts are embedded.</param>
    /// <param name="cancellationToken">Stops embedding or training; nothing is written then.</param>
    /// <returns>The folder written; the report has <c>pairwise_accuracy</c> on the validation pairs.</returns>
    /// <exception cref="ArgumentException">There are no training pairs.</exception>
    /// <exception cref="InvalidDataFileException">A pair is invalid (for example chosen equals rejected); its origin is named.</exception>
    /// <exception cref="LlmAdaptException">The encoder returns non-finite or ragged features.</exception>
    public async Task<FineTunedArtifact> TrainAsync(PreferenceTrainingRequest request, IProgress<TrainingProgress>? progress, IProgress<EmbeddingProgress>? embeddingProgress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.OutputPath);
        if (request.TrainingPairs is null || request.TrainingPairs.Count == 0)
        {
            throw new ArgumentException("There are no training pairs.", nameof(request));
        }

        foreach (var pair in request.TrainingPairs.Concat(request.ValidationPairs ?? []))
        {
            s_limits.Validate(pair);
        }

        var random = new Random(request.Seed);
        IReadOnlyList<PreferencePair> train;
        IReadOnlyList<PreferencePair> validation;
        if (request.ValidationPairs is { } given)
        {
            (train, validation) = (request.TrainingPairs, given);
        }
        else
        {
            var shuffled = request.TrainingPairs.ToArray();
            random.Shuffle(shuffled);
            var held = shuffled.Length >= 10 ? (int)Math.Round(shuffled.Length * Options.ValidationFraction) : 0;
            (train, validation) = (shuffled[held..], shuffled[..held]);
        }

        var modelId = EmbeddingIdentity.Resolve(_embeddings, Options.EmbeddingModelId);
        var all = train.Concat(validation).ToArray();
        var items = new List<(string, string)>(all.Length * 2);
        foreach (var p in all)
        {
            items.Add((p.Prompt, p.Chosen));
            items.Add((p.Prompt, p.Rejected));
        }

        var featurizer = new RewardFeaturizer(_embeddings, Options.Features, Options.PromptTailCharacters);
        var (rows, dimension) = await featurizer.FeaturesAsync(items, i => Describe(all[i / 2], i / 2), embeddingProgress, cancellationToken).ConfigureAwait(false);
        var width = rows[0].Length;
        var trainCount = train.Count;
        var trainRows = rows.AsSpan(0, trainCount * 2).ToArray();
        var validationRows = rows.AsSpan(trainCount * 2).ToArray();
        var margins = train.Select(p => Options.UseMargin ? p.Margin ?? 0 : 0).ToArray();

        var standardization = HeadNetwork.ComputeStandardization(trainRows, width);
        var standardizedRows = HeadNetwork.Standardize(trainRows, standardization.Mean, standardization.Scale);
        var rewards = new float[Options.BatchSize * 2];
        var dRewards = new float[Options.BatchSize * 2];
        var lambda = Options.CenteringCoefficient;
        EpochLoop LoopFor(HeadNetwork network) => new()
        {
            Network = network,
            TrainCount = trainCount,
            Settings = Options,
            TrainBatch = (order, start, count, rng) =>
            {
                // Rows [0, count) are the chosen responses, [count, 2·count) the rejected ones.
                var input = network.InputBuffer(2 * count);
                for (var j = 0; j < count; j++)
                {
                    var i = order[start + j];
                    standardizedRows.AsSpan(2 * i * width, width).CopyTo(input.Slice(j * width, width));
                    standardizedRows.AsSpan(((2 * i) + 1) * width, width).CopyTo(input.Slice((count + j) * width, width));
                }

                network.ForwardInputBuffer(2 * count, rewards, rng);
                double loss = 0;
                for (var j = 0; j < count; j++)
                {
                    double rc = rewards[j];
                    double rr = rewards[count + j];
                    var d = rc - rr - margins[order[start + j]];
                    var sum = rc + rr;
                    loss += Softplus(-d) + (lambda * sum * sum);
                    var pull = Sigmoid(-d);
                    dRewards[j] = (float)((-pull + (2 * lambda * sum)) / count);
                    dRewards[count + j] = (float)((pull + (2 * lambda * sum)) / count);
                }

                network.Backward(dRewards, 2 * count);
                return loss / count;
            },
            ValidationLoss = () => validationRows.Length == 0 ? null : Evaluate(network, validationRows).Loss,
        };

        var (network, report, bestEpoch) = await HeadEnsemble.TrainAsync(Options, width, 1, request.Seed, random, standardization, LoopFor, progress, cancellationToken).ConfigureAwait(false);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["train_pairwise_accuracy"] = Evaluate(network, trainRows).Metrics.Accuracy,
            ["best_epoch"] = bestEpoch,
        };
        if (validationRows.Length > 0)
        {
            metrics["pairwise_accuracy"] = Evaluate(network, validationRows).Metrics.Accuracy;
        }

        var manifest = new HeadManifest
        {
            Format = Format,
            EmbeddingModel = modelId,
            EmbeddingDimension = dimension,
            Features = RewardFeaturizer.Names(Options.Features),
            PromptTailCharacters = Options.PromptTailCharacters,
            Head = HeadShape.Of(Options, network),
            Metrics = metrics,
            Settings = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["learning_rate"] = Options.LearningRate.ToString(CultureInfo.InvariantCulture),
                ["weight_decay"] = Options.WeightDecay.ToString(CultureInfo.InvariantCulture),
                ["batch_size"] = Options.BatchSize.ToString(CultureInfo.InvariantCulture),
                ["use_margin"] = Options.UseMargin ? "true" : "false",
                ["centering_coefficient"] = Options.CenteringCoefficient.ToString(CultureInfo.InvariantCulture),
                ["input_dropout"] = Options.InputDropout.ToString(CultureInfo.InvariantCulture),
                ["ensemble_size"] = Options.EnsembleSize.ToString(CultureInfo.InvariantCulture),
                ["seed"] = request.Seed.ToString(CultureInfo.InvariantCulture),
            },
            CreatedUtc = DateTimeOffset.UtcNow,
        };
        var artifact = await HeadFiles.SaveArtifactAsync(request.OutputPath, network, manifest, ArtifactKinds.RewardModel, report, cancellationToken).ConfigureAwait(false);
        LogTrained(_logger, Options.Head, trainCount, report.Steps, metrics.GetValueOrDefault("pairwise_accuracy", double.NaN));
        return artifact;
    }

    internal static string Describe(PreferencePair pair, int index) => pair.Origin is { } origin ? $"pair {origin}" : $"pair #{index + 1}";

    /// <summary>Scores rows without dropout.</summary>
    internal static double[] Score(HeadNetwork network, IReadOnlyList<float[]> rows)
    {
        var result = new double[rows.Count];
        Classification.ForEachBatch(network, rows, (start, count, rewards) =>
        {
            for (var j = 0; j < count; j++)
            {
                result[start + j] = rewards[j];
            }
        });
        return result;
    }

    /// <summary>Bradley–Terry loss and pairwise metrics for rows laid out chosen, rejected, chosen, rejected, ….</summary>
    internal static (double Loss, PairwiseMetrics Metrics) Evaluate(HeadNetwork network, IReadOnlyList<float[]> rows)
    {
        var scores = Score(network, rows);
        var pairs = scores.Length / 2;
        var chosen = new double[pairs];
        var rejected = new double[pairs];
        double loss = 0;
        for (var i = 0; i < pairs; i++)
        {
            chosen[i] = scores[2 * i];
            rejected[i] = scores[(2 * i) + 1];
            loss += Softplus(-(chosen[i] - rejected[i]));
        }

        return (loss / pairs, PairwiseMetrics.FromScores(chosen, rejected));
    }

    private static double Softplus(double x) => x > 30 ? x : double.LogP1(Math.Exp(x));

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [LoggerMessage(Level = LogLevel.Information, Message = "Trained a {Head} reward model on {Pairs} pairs in {Steps} steps; validation pairwise accuracy {Accuracy:F4}.")]
    private static partial void LogTrained(ILogger logger, HeadKind head, int pairs, int steps, double accuracy);
}
