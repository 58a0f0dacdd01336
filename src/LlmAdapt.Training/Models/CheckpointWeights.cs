using LlmAdapt.Formats;

namespace LlmAdapt.Training.Models;

/// <summary>The weights file every checkpoint family shares: model.safetensors beside config.json.</summary>
internal static class CheckpointWeights
{
    public const string FileName = "model.safetensors";

    /// <summary>The index of a sharded checkpoint: <c>weight_map</c> from tensor name to shard file.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>Returns a model's values by tensor name.</summary>
    public delegate Span<float> ValuesOf(string name);

    /// <summary>Writes every tensor under its Hugging Face name into <c>directory/model.safetensors</c>, atomically.</summary>
    public static Task WriteAsync(IReadOnlyList<ParameterTensor> tensors, ValuesOf values, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        foreach (var tensor in tensors)
        {
            writer.Add(tensor.Name, values(tensor.Name), tensor.Shape);
        }

        return writer.WriteAsync(Path.Combine(directory, FileName), cancellationToken);
    }

    /// <summary>Returns the weights file of a checkpoint folder, or throws naming it when it is missing.</summary>
    public static string Require(string fullDirectory)
    {
        var weights = Path.Combine(fullDirectory, FileName);
        return File.Exists(weights) ? weights : throw new ModelLoadException(weights, "no model.safetensors (or model.safetensors.index.json) beside config.json.", null);
    }
}
