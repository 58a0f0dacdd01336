using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmAdapt.Formats;

/// <summary>
/// PEFT's <c>adapter_config.json</c> for a LoRA adapter. Its weights sit beside it in
/// <c>adapter_model.safetensors</c> under PEFT's names, e.g.
/// <c>base_model.model.transformer.h.0.attn.c_attn.lora_A.weight</c> (rank × in) and <c>…lora_B.weight</c> (out × rank).
/// </summary>
public sealed record PeftAdapterConfig
{
    /// <summary>The config's file name inside an adapter folder.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>The weights' file name inside an adapter folder.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>The prefix PEFT puts before the base model's module names.</summary>
    public const string TensorPrefix = "base_model.model.";

    private static readonly JsonSerializerOptions s_options = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Gets the adapter type; LlmAdapt writes and reads <c>LORA</c>.</summary>
    [JsonPropertyName("peft_type")]
    public string PeftType { get; init; } = "LORA";

    /// <summary>Gets the task; <c>CAUSAL_LM</c> for decoders.</summary>
    [JsonPropertyName("task_type")]
    public string TaskType { get; init; } = "CAUSAL_LM";

    /// <summary>Gets the rank.</summary>
    [JsonPropertyName("r")]
    public int Rank { get; init; }

    /// <summary>Gets alpha; the update is scaled by alpha / r.</summary>
    [JsonPropertyName("lora_alpha")]
    public double Alpha { get; init; }

    /// <summary>Gets the dropout used in training.</summary>
    [JsonPropertyName("lora_dropout")]
    public double Dropout { get; init; }

    /// <summary>Gets the module names adapted.</summary>
    [JsonPropertyName("target_modules")]
    public IReadOnlyList<string> TargetModules { get; init; } = [];

    /// <summary>Gets whether the base layer stores its weight as [in, out] (GPT-2's Conv1D: true).</summary>
    [JsonPropertyName("fan_in_fan_out")]
    public bool FanInFanOut { get; init; }

    /// <summary>Gets which biases are trained; LlmAdapt trains none.</summary>
    [JsonPropertyName("bias")]
    public string Bias { get; init; } = "none";

    /// <summary>Gets the base checkpoint the adapter belongs to.</summary>
    [JsonPropertyName("base_model_name_or_path")]
    public string? BaseModelNameOrPath { get; init; }

    /// <summary>Gets whether the adapter is saved for inference.</summary>
    [JsonPropertyName("inference_mode")]
    public bool InferenceMode { get; init; } = true;

    /// <summary>Reads an adapter config from a file or adapter folder.</summary>
    /// <param name="path">The file or folder.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ModelLoadException">Missing, not JSON, not LoRA, or the rank is not positive.</exception>
    public static async Task<PeftAdapterConfig> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
        {
            throw new ModelLoadException(Path.GetFullPath(file), "no adapter_config.json: an adapter folder holds adapter_config.json and adapter_model.safetensors.", null);
        }

        try
        {
            var text = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
            var config = JsonSerializer.Deserialize<PeftAdapterConfig>(text, s_options) ?? throw new ModelLoadException(file, "adapter_config.json is null.", null);
            if (!string.Equals(config.PeftType, "LORA", StringComparison.OrdinalIgnoreCase) || config.Rank <= 0)
            {
                throw new ModelLoadException(file, $"peft_type is '{config.PeftType}' with r = {config.Rank}; only LORA with a positive rank is supported.", null);
            }

            return config;
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(file, $"adapter_config.json is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Writes the config atomically.</summary>
    /// <param name="path">The file, or a folder to write <c>adapter_config.json</c> into.</param>
    /// <param name="cancellationToken">Cancels before the rename.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public Task WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        return AtomicFile.WriteAllTextAsync(file, JsonSerializer.Serialize(this, s_options), cancellationToken);
    }
}
