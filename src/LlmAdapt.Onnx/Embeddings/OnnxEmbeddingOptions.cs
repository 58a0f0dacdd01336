using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Onnx.Embeddings;

/// <summary>
/// Options of <see cref="OnnxEmbeddingGenerator"/>. Values left <see langword="null"/> come from the model folder's
/// sentence-transformers settings when it has them, otherwise from the documented default.
/// </summary>
public sealed class OnnxEmbeddingOptions
{
    /// <summary>The configuration section (under <c>LlmAdapt</c>) the options are bound from.</summary>
    public const string SectionName = "Embeddings";

    /// <summary>
    /// Gets or sets the model folder (<c>model.onnx</c> or <c>onnx/model.onnx</c>, plus <c>vocab.txt</c> or
    /// <c>tokenizer.json</c>) used by the DI registration. <see langword="null"/> (the default) uses the built-in
    /// all-MiniLM-L6-v2.
    /// </summary>
    public string? ModelDirectory { get; set; }

    /// <summary>Gets or sets the model id reported in <see cref="Microsoft.Extensions.AI.EmbeddingGeneratorMetadata"/> and on each embedding. Default: the folder's name, or <c>sentence-transformers/all-MiniLM-L6-v2</c> for the built-in model.</summary>
    public string? ModelId { get; set; }

    /// <summary>
    /// Gets or sets the most tokens (with <c>[CLS]</c> and <c>[SEP]</c>) a text is encoded with; from 2 to 8,192.
    /// Longer texts keep their first <c>MaxSequenceLength − 2</c> word pieces and the cut is reported.
    /// Default: <c>max_seq_length</c> of the folder's <c>sentence_bert_config.json</c>, else 512 (256 for the built-in model).
    /// </summary>
    [Range(2, 8192)]
    public int? MaxSequenceLength { get; set; }

    /// <summary>Gets or sets the pooling. Default: the folder's <c>1_Pooling/config.json</c>, else <see cref="EmbeddingPooling.Mean"/>.</summary>
    [EnumDataType(typeof(EmbeddingPooling))]
    public EmbeddingPooling? Pooling { get; set; }

    /// <summary>
    /// Gets or sets how many of the encoder's last layers are pooled, from 1 to 64: each layer's hidden states are pooled
    /// (by <see cref="Pooling"/>) and the results put side by side, oldest layer first, so the embedding has
    /// <c>PooledLayers × hidden size</c> components (twice that with <see cref="EmbeddingPooling.MeanMax"/>). With
    /// <see cref="Normalize"/> on, each layer's part is scaled to unit length on its own. Default: 1, the model's own
    /// sentence embedding from its last layer.
    /// </summary>
    /// <remarks>
    /// Lower layers keep more of the words and syntax that a sentence-similarity objective trains out of the last one, so
    /// a classifier or reward model on top of a frozen encoder usually does better with several layers (see
    /// <c>docs/transfer-learning.md</c> for SST-2 numbers). The layers are found by walking the ONNX graph (the hidden
    /// states read by each self-attention block's query, key and value projections) and made extra outputs of it; a
    /// value above the encoder's layer count is refused when the generator is created. Any value other than 1, and
    /// <see cref="EmbeddingPooling.MeanMax"/>, is recorded in the generator's model id (for example
    /// <c>sentence-transformers/all-MiniLM-L6-v2#layers=6;pooling=mean;normalize=false</c>), so heads trained on these features refuse
    /// a generator configured differently, and cached embeddings are kept apart.
    /// </remarks>
    [Range(1, 64)]
    public int PooledLayers { get; set; } = 1;

    /// <summary>Gets or sets whether embeddings are scaled to unit length. Default: <see langword="true"/> when the folder's <c>modules.json</c> lists a <c>Normalize</c> module or has no <c>modules.json</c>.</summary>
    public bool? Normalize { get; set; }

    /// <summary>Gets or sets the most texts in one model call; from 1 to 4,096. Default: 32.</summary>
    [Range(1, 4096)]
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// Gets or sets the most tokens, padding included (texts × longest text), in one model call; from 64 to 1,048,576.
    /// A single text longer than this still runs, alone. Default (<see langword="null"/>): 512 for
    /// <see cref="EmbeddingPrecision.Float32"/>, 256 for <see cref="EmbeddingPrecision.Int8"/> — a batch that small keeps
    /// its activations in the core's cache (on the built-in model 300 Cranfield abstracts took 12% less time than with
    /// 8,192, and short sentences the same time); int8, whose products are cheaper and whose element-wise passes weigh
    /// more, gains from halving it again where fp32 does not (see <c>docs/embeddings.md</c>).
    /// </summary>
    [Range(64, 1_048_576)]
    public int? MaxBatchTokens { get; set; }

    /// <summary>Resolves <see cref="MaxBatchTokens"/> for <see cref="Precision"/>.</summary>
    internal int ResolveMaxBatchTokens() => MaxBatchTokens ?? (Precision == EmbeddingPrecision.Int8 ? 256 : 512);

    /// <summary>
    /// Gets or sets ONNX Runtime's intra-op threads per model call; 0 means the cores divided among
    /// <see cref="ConcurrentBatches"/>. From 0 to 1,024. Default: 0.
    /// </summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Gets or sets how many batches of one call run at once, each on its own thread(s); 0 means one per core when
    /// <see cref="IntraOpThreads"/> is 0 (so every core runs a batch single-threaded), else the cores divided by
    /// <see cref="IntraOpThreads"/>. A call with fewer batches than this is cut into smaller ones so every lane works.
    /// From 0 to 1,024. Default: 0.
    /// </summary>
    /// <remarks>
    /// On BERT-sized encoders, single-threaded batches side by side keep the cores busier than one batch split across
    /// threads (no waiting at each operator's join): see <c>docs/embeddings.md</c> for the measurements.
    /// </remarks>
    [Range(0, 1024)]
    public int ConcurrentBatches { get; set; }

    /// <summary>Resolves <see cref="IntraOpThreads"/> and <see cref="ConcurrentBatches"/> for this machine.</summary>
    internal (int Threads, int Lanes) ResolveParallelism()
    {
        var cores = Environment.ProcessorCount;
        var lanes = ConcurrentBatches > 0 ? ConcurrentBatches : IntraOpThreads > 0 ? Math.Max(1, cores / IntraOpThreads) : cores;
        var threads = IntraOpThreads > 0 ? IntraOpThreads : Math.Max(1, cores / lanes);
        return (threads, lanes);
    }

    /// <summary>Gets or sets the arithmetic. Default: <see cref="EmbeddingPrecision.Float32"/>.</summary>
    [EnumDataType(typeof(EmbeddingPrecision))]
    public EmbeddingPrecision Precision { get; set; } = EmbeddingPrecision.Float32;

    /// <summary>
    /// Gets or sets where derived models (the int8 quantization) are cached. Default: <c>LlmAdapt/models</c> under the
    /// user's local application data folder, or under the temp folder when there is none.
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Parses a pooling name as model ids and the command line write it: <c>mean</c>, <c>cls</c> or <c>mean-max</c>.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The pooling.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is none of the three.</exception>
    public static EmbeddingPooling ParsePooling(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return LayerPooling.Parse(name) ?? throw new ArgumentException($"Unknown pooling '{name}'; use mean, cls or mean-max.", nameof(name));
    }

    /// <summary>
    /// Sets <see cref="PooledLayers"/>, <see cref="Pooling"/> and <see cref="Normalize"/> to the features a generator's
    /// <see cref="OnnxEmbeddingGenerator.ModelId"/> records (its <c>#layers=…;pooling=…;normalize=…</c> end), so a head
    /// trained on them can be loaded against the same features.
    /// </summary>
    /// <param name="modelId">A model id, for example the one in a classifier's or reward model's manifest.</param>
    /// <returns><see langword="false"/>, changing nothing, when <paramref name="modelId"/> records no features (the plain sentence embedding).</returns>
    public bool TryApplyFeaturesOf(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        if (!LayerPooling.TryParseModelId(modelId, out var layers, out var pooling, out var normalize))
        {
            return false;
        }

        PooledLayers = layers;
        Pooling = pooling;
        Normalize = normalize;
        return true;
    }

    /// <summary>Returns a copy, so a generator is not changed by later edits to the options it was created with.</summary>
    /// <returns>The copy.</returns>
    public OnnxEmbeddingOptions Clone() => (OnnxEmbeddingOptions)MemberwiseClone();
}
