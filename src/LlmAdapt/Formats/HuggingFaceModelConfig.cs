using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmAdapt.Formats;

/// <summary>
/// A Hugging Face <c>config.json</c> for the decoder families LlmAdapt trains and exports: GPT-2 (<c>model_type</c>
/// "gpt2": <c>n_embd</c>, <c>n_layer</c>, …) and Llama (<c>model_type</c> "llama": <c>hidden_size</c>,
/// <c>num_key_value_heads</c>, …). Keys it does not model are kept in <see cref="Extra"/> and written back. This is the one
/// reader of <c>config.json</c>: the training engine, the ONNX exporter and the ONNX decoder all take their shape from it,
/// including the defaults Hugging Face applies to a missing key (<see cref="LayerCount"/>, <see cref="HeadSize"/>, …) and
/// the rotary frequencies <c>rope_scaling</c> implies (<see cref="RotaryFrequencies"/>).
/// </summary>
public sealed record HuggingFaceModelConfig
{
    /// <summary>The file name inside a checkpoint folder.</summary>
    public const string FileName = "config.json";

    private static readonly JsonSerializerOptions s_options = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>Gets the architecture family: <c>gpt2</c> or <c>llama</c>.</summary>
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "gpt2";

    /// <summary>Gets the model classes, for example <c>GPT2LMHeadModel</c>.</summary>
    [JsonPropertyName("architectures")]
    public IReadOnlyList<string>? Architectures { get; init; }

    /// <summary>Gets the vocabulary size.</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabSize { get; init; }

    /// <summary>Gets GPT-2's context length.</summary>
    [JsonPropertyName("n_positions")]
    public int? NPositions { get; init; }

    /// <summary>Gets GPT-2's width.</summary>
    [JsonPropertyName("n_embd")]
    public int? NEmbd { get; init; }

    /// <summary>Gets GPT-2's number of blocks.</summary>
    [JsonPropertyName("n_layer")]
    public int? NLayer { get; init; }

    /// <summary>Gets GPT-2's number of heads.</summary>
    [JsonPropertyName("n_head")]
    public int? NHead { get; init; }

    /// <summary>Gets GPT-2's LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_epsilon")]
    public double? LayerNormEpsilon { get; init; }

    /// <summary>Gets GPT-2's MLP activation (<c>gelu_new</c>).</summary>
    [JsonPropertyName("activation_function")]
    public string? ActivationFunction { get; init; }

    /// <summary>Gets Llama's width.</summary>
    [JsonPropertyName("hidden_size")]
    public int? HiddenSize { get; init; }

    /// <summary>Gets Llama's MLP width.</summary>
    [JsonPropertyName("intermediate_size")]
    public int? IntermediateSize { get; init; }

    /// <summary>Gets Llama's number of blocks.</summary>
    [JsonPropertyName("num_hidden_layers")]
    public int? NumHiddenLayers { get; init; }

    /// <summary>Gets Llama's number of query heads.</summary>
    [JsonPropertyName("num_attention_heads")]
    public int? NumAttentionHeads { get; init; }

    /// <summary>Gets Llama's number of key/value heads (grouped-query attention).</summary>
    [JsonPropertyName("num_key_value_heads")]
    public int? NumKeyValueHeads { get; init; }

    /// <summary>Gets the size of one attention head when it is not <c>hidden_size / num_attention_heads</c> (<c>head_dim</c>).</summary>
    [JsonPropertyName("head_dim")]
    public int? HeadDim { get; init; }

    /// <summary>Gets GPT-2's MLP width when it is not 4 × <c>n_embd</c> (<c>n_inner</c>).</summary>
    [JsonPropertyName("n_inner")]
    public int? NInner { get; init; }

    /// <summary>Gets Llama's context length.</summary>
    [JsonPropertyName("max_position_embeddings")]
    public int? MaxPositionEmbeddings { get; init; }

    /// <summary>Gets Llama's RMSNorm epsilon.</summary>
    [JsonPropertyName("rms_norm_eps")]
    public double? RmsNormEps { get; init; }

    /// <summary>Gets Llama's rotary base.</summary>
    [JsonPropertyName("rope_theta")]
    public double? RopeTheta { get; init; }

    /// <summary>
    /// Gets Hugging Face's <c>rope_scaling</c> object as written (<c>{"rope_type": "llama3", "factor": 8, …}</c>), or
    /// <see langword="null"/>; <see cref="RotaryFrequencies"/> applies it.
    /// </summary>
    [JsonPropertyName("rope_scaling")]
    public JsonElement? RopeScaling { get; init; }

    /// <summary>Gets whether the output head shares the token embedding.</summary>
    [JsonPropertyName("tie_word_embeddings")]
    public bool? TieWordEmbeddings { get; init; }

    /// <summary>Gets the padding token id.</summary>
    [JsonPropertyName("pad_token_id")]
    public int? PadTokenId { get; init; }

    /// <summary>Gets the beginning-of-sequence token id.</summary>
    [JsonPropertyName("bos_token_id")]
    public int? BosTokenId { get; init; }

    /// <summary>
    /// Gets the first end-of-sequence token id (<see cref="EosTokenIds"/>'s first); setting it sets the list to that one id.
    /// </summary>
    [JsonIgnore]
    public int? EosTokenId
    {
        get => EosTokenIds is { Count: > 0 } ids ? ids[0] : null;
        init => EosTokenIds = value is int id ? [id] : null;
    }

    /// <summary>
    /// Gets every end-of-sequence token id: <c>eos_token_id</c> is one number in most configs and a list in some
    /// (Llama 3 instruct models end on either of two ids). Written back as a number when there is one id.
    /// </summary>
    [JsonPropertyName("eos_token_id")]
    [JsonConverter(typeof(IdOrIdListConverter))]
    public IReadOnlyList<int>? EosTokenIds { get; init; }

    /// <summary>Gets the stored precision, for example <c>float32</c>.</summary>
    [JsonPropertyName("torch_dtype")]
    public string? TorchDtype { get; init; }

    /// <summary>Gets the keys this record does not model, preserved on write.</summary>
    [JsonExtensionData]
    public IDictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>Gets whether <see cref="ModelType"/> is GPT-2's (<c>gpt2</c>); every other type is read with Llama's keys and defaults.</summary>
    [JsonIgnore]
    public bool IsGpt2 => string.Equals(ModelType, "gpt2", StringComparison.OrdinalIgnoreCase);

    /// <summary>Gets the number of blocks: <c>num_hidden_layers</c> or <c>n_layer</c>; Hugging Face's default (GPT-2 12, Llama 32) when absent.</summary>
    [JsonIgnore]
    public int LayerCount => NumHiddenLayers ?? NLayer ?? (IsGpt2 ? 12 : 32);

    /// <summary>Gets the residual width: <c>hidden_size</c> or <c>n_embd</c>; GPT-2 768, Llama 4096 when absent.</summary>
    [JsonIgnore]
    public int Width => HiddenSize ?? NEmbd ?? (IsGpt2 ? 768 : 4096);

    /// <summary>Gets the number of query heads: <c>num_attention_heads</c> or <c>n_head</c>; GPT-2 12, Llama 32 when absent.</summary>
    [JsonIgnore]
    public int HeadCount => NumAttentionHeads ?? NHead ?? (IsGpt2 ? 12 : 32);

    /// <summary>Gets the number of key/value heads: <c>num_key_value_heads</c>, else <see cref="HeadCount"/> (GPT-2 has no grouped-query attention).</summary>
    [JsonIgnore]
    public int KeyValueHeadCount => IsGpt2 ? HeadCount : NumKeyValueHeads ?? HeadCount;

    /// <summary>Gets the size of one head: <c>head_dim</c> when set (Llama), else <see cref="Width"/> / <see cref="HeadCount"/>.</summary>
    [JsonIgnore]
    public int HeadSize => (IsGpt2 ? null : HeadDim) ?? (HeadCount > 0 ? Width / HeadCount : 0);

    /// <summary>Gets the MLP width: <c>intermediate_size</c> (Llama; 11008 when absent) or <c>n_inner</c> (GPT-2; 4 × width when absent).</summary>
    [JsonIgnore]
    public int MlpWidth => IsGpt2 ? NInner ?? (4 * Width) : IntermediateSize ?? 11008;

    /// <summary>Gets the context length: <c>max_position_embeddings</c> or <c>n_positions</c>; GPT-2 1024, Llama 2048 when absent.</summary>
    [JsonIgnore]
    public int ContextLength => MaxPositionEmbeddings ?? NPositions ?? (IsGpt2 ? 1024 : 2048);

    /// <summary>Gets the normalisation epsilon: GPT-2's <c>layer_norm_epsilon</c> (1e-5 when absent) or Llama's <c>rms_norm_eps</c> (1e-6).</summary>
    [JsonIgnore]
    public double NormEpsilon => IsGpt2 ? LayerNormEpsilon ?? 1e-5 : RmsNormEps ?? 1e-6;

    /// <summary>Gets the rotary base <c>rope_theta</c>; 10000 when absent.</summary>
    [JsonIgnore]
    public double RotaryBase => RopeTheta ?? 10000;

    /// <summary>Gets whether the output head is the token embedding: <c>tie_word_embeddings</c>, else GPT-2 true, Llama false (Hugging Face's defaults).</summary>
    [JsonIgnore]
    public bool TiesWordEmbeddings => TieWordEmbeddings ?? IsGpt2;

    /// <summary>Gets whether <c>rope_scaling</c> changes the rotary frequencies (set, and not of type <c>default</c>).</summary>
    [JsonIgnore]
    public bool ScalesRotaryFrequencies => RopeScaling is { ValueKind: not JsonValueKind.Null } scaling
        && (ScalingText(scaling, "rope_type") ?? ScalingText(scaling, "type")) != "default";

    /// <summary>
    /// Returns the rotary frequency of each pair i &lt; <see cref="HeadSize"/>/2: θ^(−2i/D), then Hugging Face's
    /// <c>rope_scaling</c>: <c>linear</c> divides every frequency by <c>factor</c>; <c>llama3</c> (Llama 3.1 and later)
    /// divides the low frequencies (wavelength above original_max_position_embeddings / low_freq_factor) by
    /// <c>factor</c>, keeps the high ones (wavelength below original_max_position_embeddings / high_freq_factor) and
    /// blends in between. Other types are refused.
    /// </summary>
    /// <param name="path">The config file, named in errors.</param>
    /// <returns>One frequency per rotated pair.</returns>
    /// <exception cref="ModelLoadException"><c>rope_scaling</c> has a type other than default, linear or llama3, or no positive factor.</exception>
    public double[] RotaryFrequencies(string path)
    {
        var headSize = HeadSize;
        var half = headSize / 2;
        var frequencies = new double[half];
        for (var i = 0; i < half; i++)
        {
            frequencies[i] = Math.Pow(RotaryBase, -2.0 * i / headSize);
        }

        if (RopeScaling is not { } scaling || scaling.ValueKind == JsonValueKind.Null)
        {
            return frequencies;
        }

        double? Number(string key) => scaling.ValueKind == JsonValueKind.Object && scaling.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        var type = ScalingText(scaling, "rope_type") ?? ScalingText(scaling, "type");
        var factor = Number("factor");
        if (type == "default")
        {
            return frequencies;
        }

        if (type is not ("linear" or "llama3") || factor is not > 0)
        {
            throw new ModelLoadException(path, $"rope_scaling {scaling.GetRawText()} is not supported (none, default, linear and llama3 with a positive factor are).", null);
        }

        if (type == "linear")
        {
            return [.. frequencies.Select(f => f / factor.Value)];
        }

        // Llama 3.1's values where a config leaves one out.
        double low = Number("low_freq_factor") ?? 1, high = Number("high_freq_factor") ?? 4;
        var original = Number("original_max_position_embeddings") ?? 8192;
        if (high <= low)
        {
            throw new ModelLoadException(path, $"rope_scaling high_freq_factor {high} must exceed low_freq_factor {low}.", null);
        }

        for (var i = 0; i < half; i++)
        {
            var wavelength = 2 * Math.PI / frequencies[i];
            if (wavelength > original / low)
            {
                frequencies[i] /= factor.Value;
            }
            else if (wavelength >= original / high)
            {
                var smooth = ((original / wavelength) - low) / (high - low);
                frequencies[i] = ((1 - smooth) * frequencies[i] / factor.Value) + (smooth * frequencies[i]);
            }
        }

        return frequencies;
    }

    /// <summary>
    /// Returns what a Llama config asks for beyond the Llama block every reader here implements (SiLU MLP, projections
    /// without biases): <c>hidden_act</c> other than <c>silu</c>, <c>attention_bias</c> or <c>mlp_bias</c> true. Empty when none.
    /// </summary>
    /// <returns>One line per unsupported setting.</returns>
    public IReadOnlyList<string> LlamaFeatureProblems()
    {
        var problems = new List<string>();
        if (Extra is not { } extra)
        {
            return problems;
        }

        if (extra.TryGetValue("hidden_act", out var act) && act.ValueKind == JsonValueKind.String && act.GetString() != "silu")
        {
            problems.Add($"hidden_act '{act.GetString()}' is not supported (silu is)");
        }

        foreach (var flag in new[] { "attention_bias", "mlp_bias" })
        {
            if (extra.TryGetValue(flag, out var value) && value.ValueKind == JsonValueKind.True)
            {
                problems.Add($"{flag} true is not supported (Llama's projections have no biases)");
            }
        }

        return problems;
    }

    /// <summary>Reads a <c>config.json</c> file (or the one inside a folder).</summary>
    /// <param name="path">The file or checkpoint folder.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ModelLoadException">The file is missing, is not JSON, or lacks <c>vocab_size</c>.</exception>
    public static async Task<HuggingFaceModelConfig> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var file = FileOf(path);
        return Parse(file, await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Reads a <c>config.json</c> file (or the one inside a folder) synchronously, for loaders that are not async.</summary>
    /// <param name="path">The file or checkpoint folder.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ModelLoadException">The file is missing, is not JSON, or lacks <c>vocab_size</c>.</exception>
    public static HuggingFaceModelConfig Read(string path)
    {
        var file = FileOf(path);
        return Parse(file, File.ReadAllBytes(file));
    }

    private static string FileOf(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        return File.Exists(file)
            ? file
            : throw new ModelLoadException(Path.GetFullPath(file), "no config.json: a checkpoint folder holds config.json and model.safetensors.", null);
    }

    private static HuggingFaceModelConfig Parse(string file, byte[] bytes)
    {
        try
        {
            var config = JsonSerializer.Deserialize<HuggingFaceModelConfig>(bytes, s_options)
                ?? throw new ModelLoadException(file, "config.json is null.", null);
            return config.VocabSize > 0 ? config : throw new ModelLoadException(file, $"vocab_size is {config.VocabSize}; it must be positive.", null);
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(file, $"config.json is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Writes the config as indented JSON, atomically.</summary>
    /// <param name="path">The file, or a folder to write <c>config.json</c> into.</param>
    /// <param name="cancellationToken">Cancels before the rename.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public Task WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        return AtomicFile.WriteAllTextAsync(file, JsonSerializer.Serialize(this, s_options), cancellationToken);
    }

    private static string? ScalingText(JsonElement scaling, string key)
        => scaling.ValueKind == JsonValueKind.Object && scaling.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Reads a token id given as one number or as a list of numbers; writes one id as a number.</summary>
    private sealed class IdOrIdListConverter : JsonConverter<IReadOnlyList<int>>
    {
        public override IReadOnlyList<int>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.Null:
                    return null;
                case JsonTokenType.Number:
                    return [reader.GetInt32()];
                case JsonTokenType.StartArray:
                    var ids = new List<int>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.Number)
                        {
                            throw new JsonException($"eos_token_id lists hold numbers, not {reader.TokenType}.");
                        }

                        ids.Add(reader.GetInt32());
                    }

                    return ids;
                default:
                    throw new JsonException($"eos_token_id is a number or a list of numbers, not {reader.TokenType}.");
            }
        }

        public override void Write(Utf8JsonWriter writer, IReadOnlyList<int> value, JsonSerializerOptions options)
        {
            if (value.Count == 1)
            {
                writer.WriteNumberValue(value[0]);
                return;
            }

            writer.WriteStartArray();
            foreach (var id in value)
            {
                writer.WriteNumberValue(id);
            }

            writer.WriteEndArray();
        }
    }
}
