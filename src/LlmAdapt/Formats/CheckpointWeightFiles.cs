using System.Text.Json;

namespace LlmAdapt.Formats;

/// <summary>
/// The weights of a Hugging Face checkpoint folder, open for reading: one <c>model.safetensors</c>, or the shards
/// <c>model.safetensors.index.json</c> lists in its <c>weight_map</c> (tensor → file beside the index). The training
/// engine and the ONNX exporter both read checkpoints through it.
/// </summary>
internal sealed class CheckpointWeightFiles : IDisposable
{
    /// <summary>The weights file of an unsharded checkpoint.</summary>
    public const string FileName = "model.safetensors";

    /// <summary>The index of a sharded checkpoint: <c>weight_map</c> from tensor name to shard file.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafeTensorsReader> _readers;

    private CheckpointWeightFiles(string displayPath, List<SafeTensorsReader> readers)
    {
        DisplayPath = displayPath;
        _readers = readers;
    }

    /// <summary>Gets the file named in messages: <c>model.safetensors</c>, or the index of a sharded checkpoint.</summary>
    public string DisplayPath { get; }

    /// <summary>Returns whether <paramref name="directory"/> holds checkpoint weights (<c>model.safetensors</c> or a shard index).</summary>
    public static bool Exist(string directory)
        => File.Exists(Path.Combine(directory, FileName)) || File.Exists(Path.Combine(directory, IndexFileName));

    /// <summary>Opens the weights of a checkpoint folder; <c>model.safetensors</c> wins when both it and an index are there.</summary>
    /// <exception cref="ModelLoadException">Neither file is there.</exception>
    /// <exception cref="InvalidDataFileException">The index is not JSON, has no weight_map, or names a shard that is not a file beside it.</exception>
    public static CheckpointWeightFiles Open(string directory)
    {
        var single = Path.Combine(directory, FileName);
        var index = Path.Combine(directory, IndexFileName);
        if (File.Exists(single) || !File.Exists(index))
        {
            return File.Exists(single)
                ? new CheckpointWeightFiles(single, [SafeTensorsReader.Open(single)])
                : throw new ModelLoadException(single, "no model.safetensors (or model.safetensors.index.json with its shards) beside config.json.", null);
        }

        var shards = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataFileException(index, 0, "no weight_map object.");
            }

            foreach (var entry in map.EnumerateObject())
            {
                var file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
                if (string.IsNullOrEmpty(file) || Path.GetFileName(file) != file || !File.Exists(Path.Combine(directory, file)))
                {
                    throw new InvalidDataFileException(index, 0, $"tensor '{entry.Name}' maps to shard '{file}', which is not a file beside the index.");
                }

                shards.Add(file);
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataFileException(index, (int)(ex.LineNumber ?? -1) + 1, $"not valid JSON: {ex.Message}", ex);
        }

        var readers = new List<SafeTensorsReader>();
        try
        {
            foreach (var shard in shards)
            {
                readers.Add(SafeTensorsReader.Open(Path.Combine(directory, shard)));
            }
        }
        catch
        {
            readers.ForEach(r => r.Dispose());
            throw;
        }

        return new CheckpointWeightFiles(index, readers);
    }

    /// <summary>Returns the reader holding <paramref name="name"/>, or <see langword="null"/>.</summary>
    public SafeTensorsReader? Find(string name) => _readers.FirstOrDefault(r => r.Contains(name));

    /// <summary>
    /// Reads a tensor as float32, checking its shape, under <paramref name="name"/> or, when absent, the
    /// <paramref name="alternative"/> name other tools save it under.
    /// </summary>
    /// <exception cref="InvalidDataFileException">The tensor is missing (the message names it, its shape and <paramref name="configSummary"/>) or has another shape.</exception>
    public float[] Read(string name, long[] shape, string? alternative, string configSummary)
    {
        var (reader, stored) = Find(name) is { } found ? (found, name)
            : alternative is not null && Find(alternative) is { } renamed ? (renamed, alternative)
            : throw new InvalidDataFileException(DisplayPath, 0, $"tensor '{name}' (shape [{string.Join(", ", shape)}]) is missing; the config ({configSummary}) needs it.");
        return reader.ReadSingle(stored, shape);
    }

    /// <inheritdoc/>
    public void Dispose() => _readers.ForEach(r => r.Dispose());
}
