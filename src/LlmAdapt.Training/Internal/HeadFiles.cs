using System.Security.Cryptography;
using System.Text.Json;
using LlmAdapt.Formats;

namespace LlmAdapt.Training.Internal;

/// <summary>Writes and reads a head folder: <c>head.safetensors</c> plus <c>manifest.json</c>, each written atomically.</summary>
internal static class HeadFiles
{
    public const string WeightsFileName = "head.safetensors";
    public const string ManifestFileName = "manifest.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public static async Task<HeadManifest> SaveAsync(string folder, HeadNetwork network, HeadManifest manifest, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = manifest.Format;
        writer.Metadata["format_version"] = manifest.FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        writer.Add("standardize.mean", network.Mean, [network.Inputs]);
        writer.Add("standardize.scale", network.Scale, [network.Inputs]);
        if (network.HiddenLayer is { } hidden)
        {
            writer.Add("hidden.weight", hidden.Weight, [hidden.Out, hidden.In]);
            writer.Add("hidden.bias", hidden.Bias, [hidden.Out]);
        }

        writer.Add("output.weight", network.OutputLayer.Weight, [network.OutputLayer.Out, network.OutputLayer.In]);
        writer.Add("output.bias", network.OutputLayer.Bias, [network.OutputLayer.Out]);
        var weightsPath = Path.Combine(folder, WeightsFileName);
        await writer.WriteAsync(weightsPath, cancellationToken).ConfigureAwait(false);

        // The weights are in place: their manifest follows, cancelled or not, so a cancelled save never leaves new
        // weights beside the old manifest (whose checksum would then refuse the folder).
        manifest = manifest with { WeightsFile = WeightsFileName, WeightsSha256 = await HashAsync(weightsPath, CancellationToken.None).ConfigureAwait(false) };
        var manifestPath = Path.Combine(folder, ManifestFileName);
        await AtomicFile.WriteAsync(manifestPath, (stream, token) => JsonSerializer.SerializeAsync(stream, manifest, s_json, token), CancellationToken.None).ConfigureAwait(false);
        return manifest;
    }

    /// <summary>
    /// Saves a trained head (<see cref="SaveAsync"/>) and describes it as an artifact: the folder's full path, the
    /// encoder as base model, the network's parameters, and <paramref name="report"/> with the manifest's metrics.
    /// </summary>
    public static async Task<FineTunedArtifact> SaveArtifactAsync(string folder, HeadNetwork network, HeadManifest manifest, string kind, TrainingReport report, CancellationToken cancellationToken)
    {
        await SaveAsync(folder, network, manifest, cancellationToken).ConfigureAwait(false);
        return new FineTunedArtifact
        {
            Path = Path.GetFullPath(folder),
            Kind = kind,
            BaseModel = manifest.EmbeddingModel,
            TrainableParameters = network.ParameterCount,
            Report = report with { Metrics = manifest.Metrics },
        };
    }

    /// <summary>Reads a head folder's manifest alone, or <see langword="null"/> when the folder has none.</summary>
    public static async Task<HeadManifest?> TryReadManifestAsync(string folder, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var manifestPath = Path.Combine(Path.GetFullPath(folder), ManifestFileName);
        return File.Exists(manifestPath) ? await ReadManifestAsync(manifestPath, cancellationToken).ConfigureAwait(false) : null;
    }

    public static async Task<(HeadNetwork Network, HeadManifest Manifest)> LoadAsync(string folder, string expectedFormat, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        folder = Path.GetFullPath(folder);
        var manifestPath = Path.Combine(folder, ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            throw new ModelLoadException(folder, $"no {ManifestFileName}: not a saved head folder.", null);
        }

        var manifest = await ReadManifestAsync(manifestPath, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(manifest.Format, expectedFormat, StringComparison.Ordinal))
        {
            throw new ModelLoadException(manifestPath, $"this is a '{manifest.Format}', not a '{expectedFormat}'.", null);
        }

        if (manifest.FormatVersion != HeadManifest.CurrentVersion)
        {
            throw new ModelLoadException(manifestPath, $"format version {manifest.FormatVersion} is not supported (this library reads version {HeadManifest.CurrentVersion}).", null);
        }

        var weightsPath = Path.Combine(folder, Path.GetFileName(manifest.WeightsFile));
        if (!File.Exists(weightsPath))
        {
            throw new ModelLoadException(weightsPath, "the weights file the manifest names is missing.", null);
        }

        var actual = await HashAsync(weightsPath, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(actual, manifest.WeightsSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelLoadException(weightsPath, $"checksum mismatch: the manifest records SHA-256 {manifest.WeightsSha256} but the file's is {actual}; the file was changed or is incomplete.", null);
        }

        var shape = manifest.Head;
        var network = new HeadNetwork(shape.Inputs, shape.Hidden, shape.Outputs, shape.Dropout, new Random(0));
        using (var reader = SafeTensorsReader.Open(weightsPath))
        {
            reader.ReadSingle("standardize.mean", [shape.Inputs]).CopyTo(network.Mean, 0);
            reader.ReadSingle("standardize.scale", [shape.Inputs]).CopyTo(network.Scale, 0);
            if (network.HiddenLayer is { } hidden)
            {
                reader.ReadSingle("hidden.weight", [hidden.Out, hidden.In]).CopyTo(hidden.Weight, 0);
                reader.ReadSingle("hidden.bias", [hidden.Out]).CopyTo(hidden.Bias, 0);
            }

            reader.ReadSingle("output.weight", [network.OutputLayer.Out, network.OutputLayer.In]).CopyTo(network.OutputLayer.Weight, 0);
            reader.ReadSingle("output.bias", [network.OutputLayer.Out]).CopyTo(network.OutputLayer.Bias, 0);
        }

        return (network, manifest);
    }

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<HeadManifest> ReadManifestAsync(string manifestPath, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = File.OpenRead(manifestPath);
            return await JsonSerializer.DeserializeAsync<HeadManifest>(stream, s_json, cancellationToken).ConfigureAwait(false)
                ?? throw new ModelLoadException(manifestPath, "the manifest is empty.", null);
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(manifestPath, $"the manifest is not valid: {ex.Message}", ex);
        }
    }
}
