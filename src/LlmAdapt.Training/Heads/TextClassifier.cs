using LlmAdapt.Preference;
using LlmAdapt.Training.Embeddings;
using LlmAdapt.Training.Internal;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Heads;

/// <summary>
/// A trained classification head bound to its encoder: gives a label and the probabilities for a text. Load one with
/// <see cref="LoadAsync"/>; it refuses an encoder other than the one it was trained on. Thread-safe.
/// </summary>
public sealed class TextClassifier
{
    private readonly HeadNetwork _network;
    private readonly IEmbeddingGenerator<string, Embedding<float>> _embeddings;
    private readonly Lock _gate = new();

    private TextClassifier(string path, HeadNetwork network, HeadManifest manifest, IEmbeddingGenerator<string, Embedding<float>> embeddings)
    {
        Path = path;
        _network = network;
        _embeddings = embeddings;
        Labels = manifest.Labels ?? throw new ModelLoadException(path, "the manifest lists no labels.", null);
        EmbeddingModel = manifest.EmbeddingModel;
        EmbeddingDimension = manifest.EmbeddingDimension;
        Head = manifest.Head.Hidden > 0 ? HeadKind.Mlp : HeadKind.Linear;
        Metrics = manifest.Metrics;
        if (Labels.Count != network.Outputs)
        {
            throw new ModelLoadException(path, $"the manifest lists {Labels.Count} labels but the head has {network.Outputs} outputs.", null);
        }
    }

    /// <summary>Gets the folder the classifier was loaded from.</summary>
    public string Path { get; }

    /// <summary>Gets the labels, in the order of the head's outputs.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Gets the embedding model the head was trained on.</summary>
    public string EmbeddingModel { get; }

    /// <summary>Gets the embedding dimension the head expects.</summary>
    public int EmbeddingDimension { get; }

    /// <summary>Gets the head's shape.</summary>
    public HeadKind Head { get; }

    /// <summary>Gets the metrics recorded at training time (validation accuracy, macro-F1, calibration error).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>Loads a classifier folder written by <see cref="TaskHeadTrainer"/>.</summary>
    /// <param name="path">The folder holding <c>manifest.json</c> and <c>head.safetensors</c>.</param>
    /// <param name="embeddings">The encoder; it must be the one the head was trained on.</param>
    /// <param name="embeddingModelId">The encoder's identity when its metadata reports none, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops loading.</param>
    /// <returns>The classifier.</returns>
    /// <exception cref="ModelLoadException">The folder is not a classifier, its checksum or version is wrong, or the encoder
    /// is a different model or dimension (both are named).</exception>
    public static async Task<TextClassifier> LoadAsync(string path, IEmbeddingGenerator<string, Embedding<float>> embeddings, string? embeddingModelId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        var (network, manifest) = await HeadFiles.LoadAsync(path, TaskHeadTrainer.Format, cancellationToken).ConfigureAwait(false);
        var full = System.IO.Path.GetFullPath(path);
        CheckEncoder(full, manifest, embeddings, embeddingModelId);
        return new TextClassifier(full, network, manifest, embeddings);
    }

    /// <summary>Classifies one text.</summary>
    /// <param name="text">The text.</param>
    /// <param name="cancellationToken">Stops the embedding call.</param>
    /// <returns>The label and probabilities.</returns>
    public async Task<ClassificationResult> ClassifyAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return (await ClassifyAsync([text], null, cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>Classifies several texts, embedding each distinct text once.</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="progress">Receives embedding progress, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops embedding.</param>
    /// <returns>One result per text, in order.</returns>
    public async Task<IReadOnlyList<ClassificationResult>> ClassifyAsync(IReadOnlyList<string> texts, IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var probabilities = await PredictAsync(texts, i => $"text #{i + 1}", progress, cancellationToken).ConfigureAwait(false);
        return probabilities.Select(ToResult).ToArray();
    }

    /// <summary>Measures the classifier on labelled examples.</summary>
    /// <param name="examples">Examples with <see cref="TrainingExample.Label"/> set.</param>
    /// <param name="progress">Receives embedding progress, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops embedding.</param>
    /// <returns>Accuracy, macro-F1, confusion matrix and expected calibration error.</returns>
    /// <exception cref="LlmAdaptException">An example's label was not seen in training (the label, the example and the known labels are named).</exception>
    public async Task<ClassificationMetrics> EvaluateAsync(IReadOnlyList<TrainingExample> examples, IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0)
        {
            throw new ArgumentException("There are no examples to evaluate.", nameof(examples));
        }

        var truth = new int[examples.Count];
        for (var i = 0; i < examples.Count; i++)
        {
            var label = examples[i].Label;
            var index = label is null ? -1 : IndexOf(label);
            if (index < 0)
            {
                throw new LlmAdaptException($"{TaskHeadTrainer.Describe(examples[i], i)} has label '{label}', which the classifier was not trained on (labels: {string.Join(", ", Labels)}).");
            }

            truth[i] = index;
        }

        var probabilities = await PredictAsync(examples.Select(e => e.Input).ToArray(), i => TaskHeadTrainer.Describe(examples[i], i), progress, cancellationToken).ConfigureAwait(false);
        return ClassificationMetrics.Compute(Labels, truth, probabilities);
    }

    /// <summary>
    /// Returns this classifier as a reward: a candidate's score is the probability of <paramref name="label"/> for the
    /// last user message's text followed directly by the candidate (a continuation, as in controlled generation), or
    /// for the candidate alone. Best-of-n and <c>GenerationRewardEvaluator</c> take it like a reward model.
    /// </summary>
    /// <param name="label">The label whose probability is the reward (one of <see cref="Labels"/>).</param>
    /// <param name="includePrompt">Whether the prompt's text comes before the candidate.</param>
    /// <returns>The scorer.</returns>
    /// <exception cref="ArgumentException">The classifier has no such label (its labels are listed).</exception>
    public IResponseScorer AsScorer(string label, bool includePrompt = true)
    {
        ArgumentNullException.ThrowIfNull(label);
        var index = IndexOf(label);
        if (index < 0)
        {
            throw new ArgumentException($"The classifier has no label '{label}' (labels: {string.Join(", ", Labels)}).", nameof(label));
        }

        return new LabelProbabilityScorer(this, label, includePrompt);
    }

    internal static void CheckEncoder(string path, HeadManifest manifest, IEmbeddingGenerator embeddings, string? embeddingModelId)
    {
        var reported = EmbeddingIdentity.ModelIdOf(embeddings);
        if (embeddingModelId is not null && reported is not null && !string.Equals(embeddingModelId, reported, StringComparison.Ordinal))
        {
            throw new ModelLoadException(path, $"the model id given ('{embeddingModelId}') differs from the one the generator reports ('{reported}').", null);
        }

        var actual = embeddingModelId ?? reported
            ?? throw new ModelLoadException(path, $"the head was trained on '{manifest.EmbeddingModel}' embeddings and this generator reports no model id; pass the id to confirm it is the same model.", null);
        if (!string.Equals(actual, manifest.EmbeddingModel, StringComparison.Ordinal))
        {
            throw new ModelLoadException(path, $"the head was trained on '{manifest.EmbeddingModel}' embeddings ({manifest.EmbeddingDimension} dimensions) but this generator is '{actual}'; heads only work on the encoder they were trained on.", null);
        }

        var metadata = embeddings.GetService(typeof(EmbeddingGeneratorMetadata)) as EmbeddingGeneratorMetadata;
        if (metadata?.DefaultModelDimensions is { } dims && dims != manifest.EmbeddingDimension)
        {
            throw new ModelLoadException(path, $"the head expects {manifest.EmbeddingDimension}-dimensional embeddings but the generator makes {dims}.", null);
        }
    }

    private int IndexOf(string label)
    {
        for (var k = 0; k < Labels.Count; k++)
        {
            if (string.Equals(Labels[k], label, StringComparison.Ordinal))
            {
                return k;
            }
        }

        return -1;
    }

    private async Task<double[][]> PredictAsync(IReadOnlyList<string> texts, Func<int, string> describe, IProgress<EmbeddingProgress>? progress, CancellationToken cancellationToken)
    {
        if (texts.Count == 0)
        {
            return [];
        }

        var (rows, _) = await TextFeatures.EmbedAsync(_embeddings, texts, describe, progress, cancellationToken, EmbeddingDimension).ConfigureAwait(false);

        // The network keeps per-batch buffers: one prediction at a time.
        lock (_gate)
        {
            return Classification.Predict(_network, rows);
        }
    }

    private ClassificationResult ToResult(double[] p)
    {
        var best = 0;
        for (var k = 1; k < p.Length; k++)
        {
            if (p[k] > p[best])
            {
                best = k;
            }
        }

        var map = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var k = 0; k < p.Length; k++)
        {
            map[Labels[k]] = p[k];
        }

        return new ClassificationResult { Label = Labels[best], Probability = p[best], Probabilities = map };
    }
}

/// <summary>A classifier's probability of one label as an <see cref="IResponseScorer"/>.</summary>
internal sealed class LabelProbabilityScorer(TextClassifier classifier, string label, bool includePrompt) : IResponseScorer
{
    public async Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        ArgumentNullException.ThrowIfNull(candidates);
        var prompt = includePrompt ? conversation.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? string.Empty : string.Empty;
        var results = await classifier.ClassifyAsync(candidates.Select(c => prompt + c).ToArray(), null, cancellationToken).ConfigureAwait(false);
        return results.Select(r => r.Probabilities[label]).ToArray();
    }
}
