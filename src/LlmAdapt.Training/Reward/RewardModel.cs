using LlmAdapt.Preference;
using LlmAdapt.Training.Embeddings;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Internal;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Reward;

/// <summary>
/// A trained reward model bound to its encoder: scores how much people would like a response to a prompt (higher is
/// better; only differences between responses to the same prompt are meaningful). As an <see cref="IResponseScorer"/>
/// it plugs into best-of-n (<c>UseBestOfN</c>): the conversation is rendered in the HH-RLHF dialogue layout. Thread-safe.
/// </summary>
public sealed class RewardModel : IResponseScorer
{
    private readonly HeadNetwork _network;
    private readonly RewardFeaturizer _featurizer;
    private readonly Lock _gate = new();

    private RewardModel(string path, HeadNetwork network, HeadManifest manifest, IEmbeddingGenerator<string, Embedding<float>> embeddings)
    {
        Path = path;
        _network = network;
        EmbeddingModel = manifest.EmbeddingModel;
        EmbeddingDimension = manifest.EmbeddingDimension;
        Features = RewardFeaturizer.Parse(manifest.Features ?? []);
        Head = manifest.Head.Hidden > 0 ? HeadKind.Mlp : HeadKind.Linear;
        Metrics = manifest.Metrics;
        _featurizer = new RewardFeaturizer(embeddings, Features, manifest.PromptTailCharacters ?? 500);
    }

    /// <summary>Gets the folder the model was loaded from.</summary>
    public string Path { get; }

    /// <summary>Gets the embedding model the head was trained on.</summary>
    public string EmbeddingModel { get; }

    /// <summary>Gets the embedding dimension.</summary>
    public int EmbeddingDimension { get; }

    /// <summary>Gets what the features are made of.</summary>
    public RewardFeatures Features { get; }

    /// <summary>Gets the head's shape.</summary>
    public HeadKind Head { get; }

    /// <summary>Gets the metrics recorded at training time.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>Loads a reward model folder written by <see cref="RewardModelTrainer"/>.</summary>
    /// <param name="path">The folder.</param>
    /// <param name="embeddings">The encoder; it must be the one the model was trained on.</param>
    /// <param name="embeddingModelId">The encoder's identity when its metadata reports none, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops loading.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ModelLoadException">Not a reward model, a bad checksum or version, or a different encoder.</exception>
    public static async Task<RewardModel> LoadAsync(string path, IEmbeddingGenerator<string, Embedding<float>> embeddings, string? embeddingModelId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        var (network, manifest) = await HeadFiles.LoadAsync(path, RewardModelTrainer.Format, cancellationToken).ConfigureAwait(false);
        var full = System.IO.Path.GetFullPath(path);
        TextClassifier.CheckEncoder(full, manifest, embeddings, embeddingModelId);
        try
        {
            _ = RewardFeaturizer.Parse(manifest.Features ?? []);
        }
        catch (ArgumentException ex)
        {
            throw new ModelLoadException(full, $"unknown feature in the manifest: {ex.Message}", ex);
        }

        return new RewardModel(full, network, manifest, embeddings);
    }

    /// <summary>Scores one response.</summary>
    /// <param name="prompt">The prompt (or dialogue so far).</param>
    /// <param name="response">The response.</param>
    /// <param name="cancellationToken">Stops embedding.</param>
    /// <returns>The reward.</returns>
    public async Task<double> ScoreAsync(string prompt, string response, CancellationToken cancellationToken = default)
        => (await ScoreAsync(prompt, [response], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>Scores several responses to one prompt.</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="responses">The responses.</param>
    /// <param name="cancellationToken">Stops embedding.</param>
    /// <returns>One reward per response.</returns>
    public Task<IReadOnlyList<double>> ScoreAsync(string prompt, IReadOnlyList<string> responses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(responses);
        return ScoreItemsAsync(responses.Select(r => (prompt, r ?? throw new ArgumentException("A response is null.", nameof(responses)))).ToArray(), null, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        return ScoreAsync(DialogueText.Format(conversation), candidates, cancellationToken);
    }

    /// <summary>Measures pairwise accuracy on held-out pairs.</summary>
    /// <param name="pairs">The pairs.</param>
    /// <param name="progress">Receives embedding progress, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops embedding.</param>
    /// <returns>The share of pairs where the chosen response scores higher (ties count half).</returns>
    public async Task<PairwiseMetrics> EvaluateAsync(IReadOnlyList<PreferencePair> pairs, IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0)
        {
            throw new ArgumentException("There are no pairs to evaluate.", nameof(pairs));
        }

        var items = pairs.SelectMany(p => new[] { (p.Prompt, p.Chosen), (p.Prompt, p.Rejected) }).ToArray();
        var scores = await ScoreItemsAsync(items, progress, cancellationToken).ConfigureAwait(false);
        return PairwiseMetrics.FromScores(
            Enumerable.Range(0, pairs.Count).Select(i => scores[2 * i]).ToArray(),
            Enumerable.Range(0, pairs.Count).Select(i => scores[(2 * i) + 1]).ToArray());
    }

    private async Task<IReadOnlyList<double>> ScoreItemsAsync(IReadOnlyList<(string Prompt, string Response)> items, IProgress<EmbeddingProgress>? progress, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return [];
        }

        var (rows, _) = await _featurizer.FeaturesAsync(items, i => $"response #{i + 1}", progress, cancellationToken, EmbeddingDimension).ConfigureAwait(false);
        lock (_gate)
        {
            return RewardModelTrainer.Score(_network, rows);
        }
    }
}
