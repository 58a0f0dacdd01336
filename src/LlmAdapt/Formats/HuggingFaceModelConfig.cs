using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmAdapt.Formats;

/// <summary>
/// A Hugging Face <c>config.json</c> for the decoder families LlmAdapt trains and exports: GPT-2 (<c>model_type</c>
/// "gpt2": <c>n_embd</c>, <c>n_layer</c>, …) and Llama (<c>model_type</c> "llama": <c>hidden_size</c>,
/// <c>num_key_value_heads</c>, …). Keys it does not model are kept in <see cref="Extra"/> and written back.
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

    /// <summary>Gets Llama's context length.</summary>
    [JsonPropertyName("max_position_embeddings")]
    public int? MaxPositionEmbeddings { get; init; }

    /// <summary>Gets Llama's RMSNorm epsilon.</summary>
    [JsonPropertyName("rms_norm_eps")]
    public double? RmsNormEps { get; init; }

    /// <summary>Gets Llama's rotary base.</summary>
    [JsonPropertyName("rope_theta")]
    public double? RopeTheta { get; init; }

    /// <summary>Gets whether the output head shares the token embedding.</summary>
    [JsonPropertyName("tie_word_embeddings")]
    public bool? TieWordEmbeddings { get; init; }

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

    /// <summary>Reads a <c>config.json</c> file (or the one inside a folder).</summary>
    /// <param name="path">The file or checkpoint folder.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ModelLoadException">The file is missing, is not JSON, or lacks <c>vocab_size</c>.</exception>
    public static async Task<HuggingFaceModelConfig> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
        {
            throw new ModelLoadException(Path.GetFullPath(file), "no config.json: a checkpoint folder holds config.json and model.safetensors.", null);
        }

        try
        {
            var stream = File.OpenRead(file);
            await using (stream.ConfigureAwait(false))
            {
                var config = await JsonSerializer.DeserializeAsync<HuggingFaceModelConfig>(stream, s_options, cancellationToken).ConfigureAwait(false)
                    ?? throw new ModelLoadException(file, "config.json is null.", null);
                if (config.VocabSize <= 0)
                {
                    throw new ModelLoadException(file, $"vocab_size is {config.VocabSize}; it must be positive.", null);
                }

                return config;
            }
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
