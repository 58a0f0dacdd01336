using LlmAdapt.Formats;

namespace LlmAdapt.Training.Models;

/// <summary>Writes the weights file every checkpoint family shares: model.safetensors beside config.json (read back through <see cref="CheckpointWeightFiles"/>).</summary>
internal static class CheckpointWeights
{
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

        return writer.WriteAsync(Path.Combine(directory, CheckpointWeightFiles.FileName), cancellationToken);
    }
}
