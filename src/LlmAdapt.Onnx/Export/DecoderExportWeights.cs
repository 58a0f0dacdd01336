using System.Globalization;
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
    /// [in, out] (<see cref="LoraUpdate.MergeInto{T}"/>, accumulated in double).
    /// </summary>
    public async Task MergeLoraAsync(string adapterDirectory, CancellationToken cancellationToken)
    {
        var updates = await ReadLoraAsync(adapterDirectory, cancellationToken).ConfigureAwait(false);
        foreach (var update in updates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            update.MergeInto<float>(Tensors[update.Module + ".weight"], ProjectionsAreInputMajor);
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

    /// <summary>Maps an adapter's module name (PEFT prefix removed) to the canonical name of its weight's module.</summary>
    protected virtual string CanonicalModule(string module) => module;

    /// <summary>
    /// Reads every expected tensor (name, shape) from <c>model.safetensors</c>, or from the shards
    /// <c>model.safetensors.index.json</c> lists, trying <paramref name="alternative"/> names when the canonical one is
    /// absent, then the untied head <c>lm_head.weight</c> [vocab, channels] when <paramref name="untiedHead"/>.
    /// </summary>
    protected void ReadTensors(string directory, IEnumerable<(string Name, long[] Shape)> expected, Func<string, string?> alternative, string configSummary, bool untiedHead, CancellationToken cancellationToken)
    {
        using var files = CheckpointWeightFiles.Open(directory);
        foreach (var (name, shape) in expected)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Add(name, files.Read(name, shape, alternative(name), configSummary), shape);
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
        using var adapter = await LoraAdapterWeights.OpenAsync(adapterDirectory, cancellationToken).ConfigureAwait(false);
        var updates = new List<LoraUpdate>();
        foreach (var (aName, bName, bare) in adapter.Pairs())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var module = CanonicalModule(bare);
            var weightName = module + ".weight";
            if (!Tensors.ContainsKey(weightName) || !LoraSites.Any(s => module.EndsWith("." + s, StringComparison.Ordinal)))
            {
                throw new InvalidDataFileException(adapter.WeightsPath, 0, $"tensor '{aName}' adapts '{module}', which is not a projection of this {Architecture} ({string.Join(", ", LoraSites)} of layers 0..{Layers - 1}).");
            }

            var shape = Shapes[weightName];
            var inF = (int)(ProjectionsAreInputMajor ? shape[0] : shape[1]);
            var outF = (int)(ProjectionsAreInputMajor ? shape[1] : shape[0]);
            updates.Add(adapter.Read(aName, bName, module, inF, outF));
        }

        if (updates.Count == 0)
        {
            throw new InvalidDataFileException(adapter.WeightsPath, 0, $"no LoRA tensors (names ending in {LoraAdapterWeights.ASuffix}) in {adapter.TensorCount} tensors.");
        }

        return updates;
    }

    private void Add(string name, float[] values, long[] shape)
    {
        Tensors[name] = values;
        Shapes[name] = shape;
    }
}
