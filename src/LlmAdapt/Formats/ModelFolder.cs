namespace LlmAdapt.Formats;

/// <summary>Tells model folders apart, so a tool given "a model" picks the loader that reads it.</summary>
public static class ModelFolder
{
    /// <summary>
    /// Returns what <paramref name="path"/> holds: an ONNX folder (with <c>genai_config.json</c> or any <c>*.onnx</c>)
    /// wins over safetensors beside it; then a PEFT adapter folder; then a checkpoint (any <c>*.safetensors</c>).
    /// </summary>
    /// <param name="path">A folder.</param>
    /// <returns>The kind, or <see cref="ModelFolderKind.Unknown"/>.</returns>
    public static ModelFolderKind Detect(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!Directory.Exists(path))
        {
            return ModelFolderKind.Unknown;
        }

        if (File.Exists(Path.Combine(path, "genai_config.json")))
        {
            return ModelFolderKind.OnnxRuntimeGenAI;
        }

        if (Directory.EnumerateFiles(path, "*.onnx").Any())
        {
            return ModelFolderKind.Onnx;
        }

        if (PeftAdapterFolder.IsAdapterFolder(path))
        {
            return ModelFolderKind.PeftAdapter;
        }

        return Directory.EnumerateFiles(path, "*.safetensors").Any() || CheckpointWeightFiles.Exist(path) ? ModelFolderKind.Checkpoint : ModelFolderKind.Unknown;
    }
}
