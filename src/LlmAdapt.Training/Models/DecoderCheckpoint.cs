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

    /// <summary>Writes config.json (<paramref name="config"/>, or the model's own) and model.safetensors, each atomically.</summary>
    public static async Task SaveAsync(DecoderModel<float> model, string directory, CancellationToken cancellationToken, HuggingFaceModelConfig? config = null)
    {
        await CheckpointWeights.WriteAsync(model.Tensors, model.Values, directory, cancellationToken).ConfigureAwait(false);
        await (config ?? model.ToHuggingFace()).WriteAsync(Path.Combine(directory, HuggingFaceModelConfig.FileName), cancellationToken).ConfigureAwait(false);
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
        // One model.safetensors, or shards listed by model.safetensors.index.json (its weight_map: tensor → file).
        var single = Path.Combine(fullDirectory, CheckpointWeights.FileName);
        var index = Path.Combine(fullDirectory, CheckpointWeights.IndexFileName);
        var source = File.Exists(single) || !File.Exists(index) ? CheckpointWeights.Require(fullDirectory) : index;
        var files = source == index ? ShardFiles(index, fullDirectory) : [single];
        var readers = new List<SafeTensorsReader>();
        try
        {
            readers.AddRange(files.Select(SafeTensorsReader.Open));
            foreach (var tensor in model.Tensors)
            {
                var other = model.AlternativeName(tensor.Name);
                var (reader, name) = readers.Select(r => (r, r.Contains(tensor.Name) ? tensor.Name : other is not null && r.Contains(other) ? other : null)).FirstOrDefault(x => x.Item2 is not null);
                if (reader is null || name is null)
                {
                    throw new InvalidDataFileException(source, 0, $"tensor '{tensor.Name}' (shape {tensor.ShapeText}) is missing; the config ({model.ShapeText}) needs it.");
                }

                reader.ReadSingle(name, tensor.Shape).CopyTo(model.Values(tensor.Name));
            }
        }
        finally
        {
            readers.ForEach(r => r.Dispose());
        }
    }

    private static List<string> ShardFiles(string index, string directory)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                throw new InvalidDataFileException(index, 0, "no weight_map object.");
            }

            var files = map.EnumerateObject().Select(p => p.Value.GetString() ?? string.Empty).Distinct(StringComparer.Ordinal).ToList();
            foreach (var file in files)
            {
                if (file.Length == 0 || Path.IsPathRooted(file) || file.Contains("..", StringComparison.Ordinal) || !File.Exists(Path.Combine(directory, file)))
                {
                    throw new InvalidDataFileException(index, 0, $"shard '{file}' is not a file beside the index.");
                }
            }

            return files.Select(f => Path.Combine(directory, f)).ToList();
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new InvalidDataFileException(index, (int)(ex.LineNumber ?? -1) + 1, $"not valid JSON: {ex.Message}", ex);
        }
    }
}
