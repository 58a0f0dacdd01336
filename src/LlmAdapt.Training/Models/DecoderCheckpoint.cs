using LlmAdapt.Formats;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Models.Llama;

namespace LlmAdapt.Training.Models;

/// <summary>
/// Checkpoint folders in the Hugging Face layout for every family the engine trains: <c>config.json</c> (whose
/// <c>model_type</c>, "gpt2" or "llama", picks the architecture), <c>model.safetensors</c> (or shards listed by
/// <c>model.safetensors.index.json</c>) under Hugging Face's tensor names (F32, F16 or BF16), and the tokenizer files.
/// </summary>
internal static class DecoderCheckpoint
{
    /// <summary>The model_type values the engine loads.</summary>
    public static IReadOnlyList<string> ModelTypes { get; } = ["gpt2", "llama"];

    /// <summary>
    /// Writes model.safetensors, then config.json (<paramref name="config"/>, or the model's own), each atomically;
    /// cancellation stops it only before the weights are in place, so a cancelled save never splits the pair.
    /// </summary>
    public static async Task SaveAsync(DecoderModel<float> model, string directory, CancellationToken cancellationToken, HuggingFaceModelConfig? config = null)
    {
        await CheckpointWeights.WriteAsync(model.Tensors, model.Values, directory, cancellationToken).ConfigureAwait(false);
        await (config ?? model.ToHuggingFace()).WriteAsync(Path.Combine(directory, HuggingFaceModelConfig.FileName), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Reads a checkpoint folder's config.json.</summary>
    public static async Task<HuggingFaceModelConfig> ReadConfigAsync(string directory, CancellationToken cancellationToken)
        => await HuggingFaceModelConfig.ReadAsync(Path.GetFullPath(directory), cancellationToken).ConfigureAwait(false);

    /// <summary>Loads a checkpoint folder as the architecture its config.json names.</summary>
    /// <exception cref="ModelLoadException">The config names another architecture or an unsupported setting.</exception>
    /// <exception cref="InvalidDataFileException">A tensor is missing or its shape does not match the config.</exception>
    public static async Task<DecoderModel<float>> LoadAsync(string directory, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(directory);
        var hf = await HuggingFaceModelConfig.ReadAsync(full, cancellationToken).ConfigureAwait(false);
        var configPath = Path.Combine(full, HuggingFaceModelConfig.FileName);
        DecoderModel<float> model = hf.ModelType?.ToUpperInvariant() switch
        {
            "GPT2" => new Gpt2Model<float>(Gpt2Checkpoint.FromHuggingFace(hf, configPath)),
            "LLAMA" => new LlamaModel<float>(LlamaCheckpoint.FromHuggingFace(hf, configPath)),
            _ => throw new ModelLoadException(configPath, $"model_type is '{hf.ModelType}'; the engine trains {string.Join(" and ", ModelTypes)}.", null),
        };
        ReadWeights(model, full);
        return model;
    }

    /// <summary>Validates a config read from <paramref name="path"/>, turning a problem into <see cref="ModelLoadException"/>.</summary>
    public static TConfig Validated<TConfig>(TConfig config, string path)
        where TConfig : DecoderConfig
    {
        try
        {
            config.Validate();
            return config;
        }
        catch (ArgumentException ex)
        {
            throw new ModelLoadException(path, ex.Message, ex);
        }
    }

    private static void ReadWeights(DecoderModel<float> model, string fullDirectory)
    {
        using var files = CheckpointWeightFiles.Open(fullDirectory);
        foreach (var tensor in model.Tensors)
        {
            files.Read(tensor.Name, tensor.Shape, model.AlternativeName(tensor.Name), model.ShapeText).CopyTo(model.Values(tensor.Name));
        }
    }
}
