namespace LlmAdapt.Formats;

/// <summary>
/// A PEFT LoRA adapter folder open for reading or being written: <c>adapter_config.json</c> and
/// <c>adapter_model.safetensors</c>, whose tensors are named <c>base_model.model.{module}.lora_A.weight</c> [r, in] and
/// <c>….lora_B.weight</c> [out, r]. The training engine loads and saves adapters here and the ONNX exporter merges or
/// converts them from here.
/// </summary>
internal sealed class LoraAdapterWeights : IDisposable
{
    /// <summary>The suffix of A's tensor name.</summary>
    public const string ASuffix = ".lora_A.weight";

    /// <summary>The suffix of B's tensor name.</summary>
    public const string BSuffix = ".lora_B.weight";

    private readonly SafeTensorsReader _reader;

    private LoraAdapterWeights(string directory, PeftAdapterConfig config, SafeTensorsReader reader)
    {
        Directory = directory;
        Config = config;
        _reader = reader;
    }

    /// <summary>Gets the adapter folder's full path.</summary>
    public string Directory { get; }

    /// <summary>Gets the adapter's config.</summary>
    public PeftAdapterConfig Config { get; }

    /// <summary>Gets the weights file, named in messages.</summary>
    public string WeightsPath => _reader.Path;

    /// <summary>Gets the number of tensors in the weights file.</summary>
    public int TensorCount => _reader.Tensors.Count;

    /// <summary>Gets alpha / r.</summary>
    public double Scale => Config.Alpha / Config.Rank;

    /// <summary>Returns PEFT's name of a module's A or B tensor.</summary>
    public static string TensorName(string module, char matrix) => $"{PeftAdapterConfig.TensorPrefix}{module}.lora_{matrix}.weight";

    /// <summary>Opens an adapter folder: its config (LoRA, positive rank) and its weights file.</summary>
    /// <exception cref="ModelLoadException">The folder, the config or the weights file is missing, or the config is invalid.</exception>
    public static async Task<LoraAdapterWeights> OpenAsync(string directory, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full))
        {
            throw new ModelLoadException(full, "no such adapter folder.", null);
        }

        var config = await PeftAdapterConfig.ReadAsync(Path.Combine(full, PeftAdapterConfig.FileName), cancellationToken).ConfigureAwait(false);
        var file = Path.Combine(full, PeftAdapterConfig.WeightsFileName);
        if (!File.Exists(file))
        {
            throw new ModelLoadException(file, "no adapter_model.safetensors beside adapter_config.json.", null);
        }

        return new LoraAdapterWeights(full, config, SafeTensorsReader.Open(file));
    }

    /// <summary>
    /// The A/B tensor pairs, in name order, with the adapted module's name without PEFT's <c>base_model.model.</c>
    /// prefix; an A without its B is an error naming both.
    /// </summary>
    /// <exception cref="InvalidDataFileException">An A tensor has no B partner.</exception>
    public IEnumerable<(string AName, string BName, string Module)> Pairs()
    {
        foreach (var aName in _reader.Tensors.Keys.Where(k => k.EndsWith(ASuffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var stored = aName[..^ASuffix.Length];
            var bName = stored + BSuffix;
            if (!_reader.Contains(bName))
            {
                throw new InvalidDataFileException(WeightsPath, 0, $"tensor '{aName}' has no partner '{bName}'.");
            }

            yield return (aName, bName, stored.StartsWith(PeftAdapterConfig.TensorPrefix, StringComparison.Ordinal) ? stored[PeftAdapterConfig.TensorPrefix.Length..] : stored);
        }
    }

    /// <summary>Reads one pair as the update of <paramref name="module"/>, checking A is [r, in] and B is [out, r].</summary>
    /// <exception cref="InvalidDataFileException">A tensor is missing or has another shape.</exception>
    public LoraUpdate Read(string aName, string bName, string module, int inFeatures, int outFeatures)
    {
        var r = Config.Rank;
        return new LoraUpdate(module, r, inFeatures, outFeatures, _reader.ReadSingle(aName, [r, inFeatures]), _reader.ReadSingle(bName, [outFeatures, r]), Scale);
    }

    /// <summary>Reads the update of <paramref name="module"/> under PEFT's names (<see cref="TensorName"/>).</summary>
    /// <exception cref="InvalidDataFileException">A tensor is missing or has another shape.</exception>
    public LoraUpdate Read(string module, int inFeatures, int outFeatures)
        => Read(TensorName(module, 'A'), TensorName(module, 'B'), module, inFeatures, outFeatures);

    /// <summary>Writes an adapter folder: the weights under PEFT's names, then the config, each atomically.</summary>
    /// <param name="directory">The folder; created if needed.</param>
    /// <param name="config">The config to write.</param>
    /// <param name="addTensors">Adds each module's A [r, in] and B [out, r] under <see cref="TensorName"/>.</param>
    /// <param name="cancellationToken">Cancels before the weights are put in place; after that the config is written
    /// regardless, so a cancelled save never leaves new weights beside an old config.</param>
    public static async Task WriteAsync(string directory, PeftAdapterConfig config, Action<SafeTensorsWriter> addTensors, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(directory);
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        addTensors(writer);

        await writer.WriteAsync(Path.Combine(directory, PeftAdapterConfig.WeightsFileName), cancellationToken).ConfigureAwait(false);
        await config.WriteAsync(Path.Combine(directory, PeftAdapterConfig.FileName), CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Dispose() => _reader.Dispose();
}
