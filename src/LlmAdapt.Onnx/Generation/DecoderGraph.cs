using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// How one past/present pair of a decoder graph is shaped: which axis is the batch, which grows with the sequence, and
/// the fixed sizes of the others (for example [2, B, H, S, D] for GPT-2's combined <c>past_%d</c>, [B, H, S, D] for
/// split <c>past_key_values.%d.key</c>).
/// </summary>
internal sealed record KvTensor(string PastName, string PresentName, TensorElementType ElementType, long[] Shape, int BatchAxis, int SequenceAxis)
{
    public int ElementSize => ElementType switch
    {
        TensorElementType.Float => 4,
        TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        _ => throw new InvalidOperationException($"Unsupported cache type {ElementType}."),
    };

    /// <summary>Elements for one batch of <paramref name="batch"/> rows at <paramref name="sequence"/> positions.</summary>
    public long ElementCount(int batch, int sequence)
    {
        long n = 1;
        for (var i = 0; i < Shape.Length; i++)
        {
            n *= i == BatchAxis ? batch : i == SequenceAxis ? sequence : Shape[i];
        }

        return n;
    }
}

/// <summary>The names, types and shapes of a decoder graph, read from the session's metadata and the folder's config.</summary>
internal sealed record DecoderGraph
{
    public required string InputIds { get; init; }

    public required TensorElementType InputIdsType { get; init; }

    public required string? AttentionMask { get; init; }

    public required TensorElementType AttentionMaskType { get; init; }

    public required string? PositionIds { get; init; }

    public required TensorElementType PositionIdsType { get; init; }

    public required string? UseCacheBranch { get; init; }

    public required string Logits { get; init; }

    public required TensorElementType LogitsType { get; init; }

    public required int VocabularySize { get; init; }

    public required IReadOnlyList<KvTensor> Cache { get; init; }

    /// <summary>
    /// Matches the configured names against the session's inputs and outputs. Placeholders such as <c>past_%d</c> are
    /// expanded for layers 0, 1, … until a name is missing.
    /// </summary>
    public static DecoderGraph Read(InferenceSession session, DecoderModelConfig config, string modelPath)
    {
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;

        string Require(IReadOnlyDictionary<string, NodeMetadata> metadata, string name, string kind)
            => metadata.ContainsKey(name)
                ? name
                : throw new ModelLoadException(modelPath, $"the graph has no {kind} '{name}' (it has: {string.Join(", ", metadata.Keys)}).", null);

        string? Optional(string name) => inputs.ContainsKey(name) ? name : null;

        TensorElementType TypeOf(IReadOnlyDictionary<string, NodeMetadata> metadata, string? name, TensorElementType fallback)
            => name is null ? fallback : metadata[name].ElementDataType;

        var inputIds = Require(inputs, config.InputIdsName, "input");
        var mask = Optional(config.AttentionMaskName);
        var positions = Optional(config.PositionIdsName);
        var useCache = Optional("use_cache_branch");
        var logits = Require(outputs, config.LogitsName, "output");

        var cache = new List<KvTensor>();
        for (var layer = 0; ; layer++)
        {
            var pairs = config.CombinedPastName is { } combined
                ? [(Format(combined, layer), Format(config.CombinedPresentName!, layer))]
                : new[]
                {
                    (Format(config.PastKeyName, layer), Format(config.PresentKeyName, layer)),
                    (Format(config.PastValueName, layer), Format(config.PresentValueName, layer)),
                };
            if (!inputs.ContainsKey(pairs[0].Item1))
            {
                break;
            }

            foreach (var (past, present) in pairs)
            {
                Require(inputs, past, "input");
                Require(outputs, present, "output");
                cache.Add(ReadKv(inputs[past], past, present, config, combinedLayout: config.CombinedPastName is not null, modelPath));
            }
        }

        if (cache.Count == 0)
        {
            var expected = config.CombinedPastName is { } c ? Format(c, 0) : Format(config.PastKeyName, 0);
            throw new ModelLoadException(modelPath, $"the graph has no KV-cache input '{expected}', so it cannot decode with a cache (inputs: {string.Join(", ", inputs.Keys)}).", null);
        }

        if (config.LayerCount is int layers && layers * (config.CombinedPastName is null ? 2 : 1) != cache.Count)
        {
            throw new ModelLoadException(modelPath, $"the config says {layers} layers but the graph has {cache.Count} cache inputs.", null);
        }

        var fed = new HashSet<string>(cache.Select(c => c.PastName)) { inputIds };
        foreach (var name in new[] { mask, positions, useCache })
        {
            if (name is not null)
            {
                fed.Add(name);
            }
        }

        var unknown = inputs.Keys.Where(k => !fed.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ModelLoadException(modelPath, $"the graph needs input(s) {string.Join(", ", unknown)}, which this generator does not feed (it feeds {string.Join(", ", fed.Order(StringComparer.Ordinal))}).", null);
        }

        var logitsDims = outputs[logits].Dimensions;
        var vocabulary = logitsDims.Length > 0 && logitsDims[^1] > 0 ? logitsDims[^1] : config.VocabularySize
            ?? throw new ModelLoadException(modelPath, "neither the logits output nor the config gives the vocabulary size.", null);
        if (config.VocabularySize is int configured && configured != vocabulary)
        {
            throw new ModelLoadException(modelPath, $"the config says a vocabulary of {configured} ids but the logits output has {vocabulary}.", null);
        }

        var logitsType = outputs[logits].ElementDataType;
        if (logitsType is not (TensorElementType.Float or TensorElementType.Float16))
        {
            throw new ModelLoadException(modelPath, $"logits of type {logitsType} are not supported (float and float16 are).", null);
        }

        var idsType = inputs[inputIds].ElementDataType;
        if (idsType is not (TensorElementType.Int32 or TensorElementType.Int64))
        {
            throw new ModelLoadException(modelPath, $"input '{inputIds}' of type {idsType} is not supported (int32 and int64 are).", null);
        }

        return new DecoderGraph
        {
            InputIds = inputIds,
            InputIdsType = idsType,
            AttentionMask = mask,
            AttentionMaskType = TypeOf(inputs, mask, TensorElementType.Int64),
            PositionIds = positions,
            PositionIdsType = TypeOf(inputs, positions, TensorElementType.Int64),
            UseCacheBranch = useCache,
            Logits = logits,
            LogitsType = logitsType,
            VocabularySize = vocabulary,
            Cache = cache,
        };
    }

    private static string Format(string pattern, int layer)
        => pattern.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static KvTensor ReadKv(NodeMetadata metadata, string past, string present, DecoderModelConfig config, bool combinedLayout, string modelPath)
    {
        var dims = metadata.Dimensions.Select(d => (long)d).ToArray();
        var expectedRank = combinedLayout ? 5 : 4;
        if (dims.Length != expectedRank)
        {
            throw new ModelLoadException(modelPath, $"cache input '{past}' has rank {dims.Length}, expected {expectedRank} ({(combinedLayout ? "[2, batch, heads, sequence, head size]" : "[batch, heads, sequence, head size]")}).", null);
        }

        // Axes by layout; sizes the graph leaves symbolic come from the config.
        var batchAxis = combinedLayout ? 1 : 0;
        var sequenceAxis = combinedLayout ? 3 : 2;
        var headsAxis = sequenceAxis - 1;
        var headSizeAxis = sequenceAxis + 1;
        if (combinedLayout)
        {
            dims[0] = 2;
        }

        if (dims[headsAxis] <= 0)
        {
            dims[headsAxis] = config.KeyValueHeads ?? throw new ModelLoadException(modelPath, $"cache input '{past}' leaves the head count symbolic and the config does not give num_key_value_heads.", null);
        }

        if (dims[headSizeAxis] <= 0)
        {
            dims[headSizeAxis] = config.HeadSize ?? throw new ModelLoadException(modelPath, $"cache input '{past}' leaves the head size symbolic and the config does not give head_size.", null);
        }

        var type = metadata.ElementDataType;
        if (type is not (TensorElementType.Float or TensorElementType.Float16 or TensorElementType.BFloat16))
        {
            throw new ModelLoadException(modelPath, $"cache input '{past}' of type {type} is not supported (float, float16 and bfloat16 are).", null);
        }

        return new KvTensor(past, present, type, dims, batchAxis, sequenceAxis);
    }
}
