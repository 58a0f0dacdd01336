using System.Globalization;
using System.Text.Json;
using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// A decoder checkpoint in Hugging Face's layout read for export: the sizes from <c>config.json</c> and every tensor
/// from <c>model.safetensors</c> under its canonical name, checked against the shape the config implies, with an
/// optional PEFT LoRA update merged in. One subclass per architecture (<see cref="Gpt2ExportWeights"/>,
/// <see cref="LlamaExportWeights"/>) says which tensors it needs and builds its graph.
/// </summary>
internal abstract class DecoderExportWeights
{
    public const string WeightsFile = "model.safetensors";

    /// <summary>The index of a sharded checkpoint: <c>weight_map</c> from tensor name to shard file.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    private const string LoraASuffix = ".lora_A.weight";

    protected DecoderExportWeights(HuggingFaceModelConfig config, string directory)
    {
        Config = config;
        CheckpointDirectory = directory;
    }

    public HuggingFaceModelConfig Config { get; }

    public string CheckpointDirectory { get; }

    /// <summary>Gets the architecture written to the ONNX metadata (<c>gpt2</c>, <c>llama</c>).</summary>
    public abstract string Architecture { get; }

    /// <summary>Gets ONNX Runtime GenAI's <c>model.type</c> for this graph.</summary>
    public abstract string GenAIModelType { get; }

    public int VocabSize { get; protected init; }

    public int ContextLength { get; protected init; }

    public int Layers { get; protected init; }

    /// <summary>Gets the number of query heads.</summary>
    public int Heads { get; protected init; }

    /// <summary>Gets the number of key/value heads, which is also the KV cache's head count.</summary>
    public int KeyValueHeads { get; protected init; }

    public int HeadSize { get; protected init; }

    /// <summary>Gets the residual stream's width.</summary>
    public int Channels { get; protected init; }

    /// <summary>Gets the tensors by canonical name; an untied output head is present only when the checkpoint has one.</summary>
    public Dictionary<string, float[]> Tensors { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long[]> Shapes { get; } = new(StringComparer.Ordinal);

    public int MergedLoraModules { get; private set; }

    /// <summary>Gets the LoRA updates kept as graph inputs, by module name (<c>model.layers.0.self_attn.q_proj</c>); empty when merged or absent.</summary>
    public Dictionary<string, LoraUpdate> SeparateLora { get; } = new(StringComparer.Ordinal);

    public long ParameterCount => Tensors.Values.Sum(t => (long)t.Length);

    /// <summary>Gets every end-of-sequence id <c>config.json</c> lists (Llama 3 instruct models list several); empty when it gives none.</summary>
    public IReadOnlyList<int> EosTokenIds { get; private set; } = [];

    /// <summary>Gets whether projection weights are stored [in, out] (GPT-2's Conv1D) rather than [out, in] (nn.Linear).</summary>
    protected abstract bool ProjectionsAreInputMajor { get; }

    /// <summary>Gets the adaptable projections, for messages ("attn.c_attn, attn.c_proj, …").</summary>
    protected abstract IReadOnlyList<string> LoraSites { get; }

    /// <summary>Reads the checkpoint in <paramref name="directory"/>, choosing the architecture by <c>model_type</c>.</summary>
    public static async Task<DecoderExportWeights> LoadAsync(string directory, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(directory);
        if (!Directory.Exists(full))
        {
            throw new ModelLoadException(full, "no such checkpoint folder.", null);
        }

        var configFile = Path.Combine(full, HuggingFaceModelConfig.FileName);
        var hf = await HuggingFaceModelConfig.ReadAsync(configFile, cancellationToken).ConfigureAwait(false);
        DecoderExportWeights weights = hf.ModelType.ToLowerInvariant() switch
        {
            "gpt2" => Gpt2ExportWeights.Load(hf, full, configFile, cancellationToken),
            "llama" => LlamaExportWeights.Load(hf, full, configFile, cancellationToken),
            _ => throw new ModelLoadException(configFile, $"model_type is '{hf.ModelType}'; the ONNX exporter builds GPT-2 ('gpt2') and Llama ('llama') graphs.", null),
        };
        weights.EosTokenIds = hf.EosTokenIds ?? [];
        return weights;
    }

    /// <summary>Builds the ONNX decoder for these weights, with float16 initializers when <paramref name="float16Weights"/>.</summary>
    public abstract DecoderGraphBuilder CreateGraphBuilder(bool float16Weights);

    /// <summary>
    /// Merges a PEFT LoRA adapter: W += (alpha / r)·B·A with A [r, in] and B [out, r], transposed for weights stored
    /// [in, out]. The update is accumulated in double so the merge adds no rounding of its own.
    /// </summary>
    public async Task MergeLoraAsync(string adapterDirectory, CancellationToken cancellationToken)
    {
        var updates = await ReadLoraAsync(adapterDirectory, cancellationToken).ConfigureAwait(false);
        foreach (var update in updates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var w = Tensors[update.Module + ".weight"];
            int r = update.Rank, inF = update.In, outF = update.Out;
            var row = new double[outF];
            for (var i = 0; i < inF; i++)
            {
                // row[o] = Σk A[k, i]·B[o, k]: column i of B·A.
                Array.Clear(row);
                for (var k = 0; k < r; k++)
                {
                    double aki = update.A[(k * inF) + i];
                    if (aki == 0)
                    {
                        continue;
                    }

                    for (var o = 0; o < outF; o++)
                    {
                        row[o] += aki * update.B[(o * r) + k];
                    }
                }

                for (var o = 0; o < outF; o++)
                {
                    var index = ProjectionsAreInputMajor ? (i * outF) + o : (o * inF) + i;
                    w[index] = (float)(w[index] + (update.Scale * row[o]));
                }
            }
        }

        MergedLoraModules = updates.Count;
    }

    /// <summary>Reads a PEFT LoRA adapter to keep it outside the weights, as graph inputs (see <see cref="SeparateLora"/>).</summary>
    public async Task KeepLoraSeparateAsync(string adapterDirectory, CancellationToken cancellationToken)
    {
        foreach (var update in await ReadLoraAsync(adapterDirectory, cancellationToken).ConfigureAwait(false))
        {
            SeparateLora[update.Module] = update;
        }
    }

    public float[] Get(string name) => Tensors[name];

    public static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads an integer key the config record does not model (for example <c>n_inner</c>, <c>head_dim</c>).</summary>
    protected static int? ExtraInt(HuggingFaceModelConfig hf, string key)
        => hf.Extra is not null && hf.Extra.TryGetValue(key, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;

    /// <summary>Maps an adapter's module name (PEFT prefix removed) to the canonical name of its weight's module.</summary>
    protected virtual string CanonicalModule(string module) => module;

    /// <summary>
    /// Reads every expected tensor (name, shape) from <c>model.safetensors</c>, or from the shards
    /// <c>model.safetensors.index.json</c> lists, trying <paramref name="alternative"/> names when the canonical one is
    /// absent, then the untied head <c>lm_head.weight</c> [vocab, channels] when <paramref name="untiedHead"/>.
    /// </summary>
    protected void ReadTensors(string directory, IEnumerable<(string Name, long[] Shape)> expected, Func<string, string?> alternative, string configSummary, bool untiedHead, CancellationToken cancellationToken)
    {
        using var files = WeightFiles.Open(directory);
        foreach (var (name, shape) in expected)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (reader, stored) = files.Find(name) is { } found ? (found, name)
                : alternative(name) is { } other && files.Find(other) is { } renamed ? (renamed, other)
                : throw new InvalidDataFileException(files.DisplayPath, 0, $"tensor '{name}' (shape [{string.Join(", ", shape)}]) is missing; the config ({configSummary}) needs it.");
            Add(name, reader.ReadSingle(stored, shape), shape);
        }

        if (untiedHead)
        {
            long[] shape = [VocabSize, Channels];
            var reader = files.Find("lm_head.weight")
                ?? throw new InvalidDataFileException(files.DisplayPath, 0, $"tie_word_embeddings is false but tensor 'lm_head.weight' (shape [{shape[0]}, {shape[1]}]) is missing.");
            Add("lm_head.weight", reader.ReadSingle("lm_head.weight", shape), shape);
        }
    }

    /// <summary>Reads and checks every A/B pair of a PEFT adapter against the projections it adapts.</summary>
    private async Task<List<LoraUpdate>> ReadLoraAsync(string adapterDirectory, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(adapterDirectory);
        if (!Directory.Exists(full))
        {
            throw new ModelLoadException(full, "no such adapter folder.", null);
        }

        var config = await PeftAdapterConfig.ReadAsync(Path.Combine(full, PeftAdapterConfig.FileName), cancellationToken).ConfigureAwait(false);
        var file = Path.Combine(full, PeftAdapterConfig.WeightsFileName);
        if (!File.Exists(file))
        {
            throw new ModelLoadException(file, "no adapter_model.safetensors beside adapter_config.json.", null);
        }

        var r = config.Rank;
        var scale = config.Alpha / r;
        using var reader = SafeTensorsReader.Open(file);
        var updates = new List<LoraUpdate>();
        foreach (var (aName, bName, bare) in LoraPairs(reader, file))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var module = CanonicalModule(bare);
            var weightName = module + ".weight";
            if (!Tensors.ContainsKey(weightName) || !LoraSites.Any(s => module.EndsWith("." + s, StringComparison.Ordinal)))
            {
                throw new InvalidDataFileException(file, 0, $"tensor '{aName}' adapts '{module}', which is not a projection of this {Architecture} ({string.Join(", ", LoraSites)} of layers 0..{Layers - 1}).");
            }

            var shape = Shapes[weightName];
            var inF = (int)(ProjectionsAreInputMajor ? shape[0] : shape[1]);
            var outF = (int)(ProjectionsAreInputMajor ? shape[1] : shape[0]);
            var a = reader.ReadSingle(aName, [r, inF]);
            var b = reader.ReadSingle(bName, [outF, r]);
            updates.Add(new LoraUpdate(module, r, inF, outF, a, b, scale));
        }

        if (updates.Count == 0)
        {
            throw new InvalidDataFileException(file, 0, $"no LoRA tensors (names ending in {LoraASuffix}) in {reader.Tensors.Count} tensors.");
        }

        return updates;
    }

    /// <summary>
    /// The A/B tensor pairs of a PEFT adapter file, in name order, with the adapted module's name without PEFT's
    /// <c>base_model.model.</c> prefix; an A without its B is an error naming both.
    /// </summary>
    public static IEnumerable<(string AName, string BName, string Module)> LoraPairs(SafeTensorsReader reader, string file)
    {
        foreach (var aName in reader.Tensors.Keys.Where(k => k.EndsWith(LoraASuffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var stored = aName[..^LoraASuffix.Length];
            var bName = stored + ".lora_B.weight";
            if (!reader.Contains(bName))
            {
                throw new InvalidDataFileException(file, 0, $"tensor '{aName}' has no partner '{bName}'.");
            }

            yield return (aName, bName, stored.StartsWith(PeftAdapterConfig.TensorPrefix, StringComparison.Ordinal) ? stored[PeftAdapterConfig.TensorPrefix.Length..] : stored);
        }
    }

    private void Add(string name, float[] values, long[] shape)
    {
        Tensors[name] = values;
        Shapes[name] = shape;
    }

    /// <summary>The open safetensors file(s) of a checkpoint: one <c>model.safetensors</c>, or the shards of an index.</summary>
    private sealed class WeightFiles : IDisposable
    {
        private readonly List<SafeTensorsReader> _readers;

        private WeightFiles(string displayPath, List<SafeTensorsReader> readers)
        {
            DisplayPath = displayPath;
            _readers = readers;
        }

        public string DisplayPath { get; }

        public static WeightFiles Open(string directory)
        {
            var single = Path.Combine(directory, WeightsFile);
            var index = Path.Combine(directory, IndexFile);
            if (File.Exists(single) || !File.Exists(index))
            {
                return File.Exists(single)
                    ? new WeightFiles(single, [SafeTensorsReader.Open(single)])
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
                    var file = entry.Value.GetString();
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

            return new WeightFiles(index, readers);
        }

        public SafeTensorsReader? Find(string name) => _readers.FirstOrDefault(r => r.Contains(name));

        public void Dispose() => _readers.ForEach(r => r.Dispose());
    }
}
