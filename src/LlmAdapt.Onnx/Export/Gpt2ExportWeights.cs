using System.Globalization;
using System.Text.Json;
using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// A GPT-2 checkpoint in Hugging Face's layout read for export: the shape from <c>config.json</c> and every tensor from
/// <c>model.safetensors</c> under its canonical name (<c>transformer.h.0.attn.c_attn.weight</c>, Conv1D weights
/// [in, out]), checked against the shape the config implies, with an optional PEFT LoRA update merged in.
/// </summary>
internal sealed class Gpt2ExportWeights
{
    public const string WeightsFile = "model.safetensors";

    private static readonly string[] s_sites = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"];

    private Gpt2ExportWeights(HuggingFaceModelConfig config, string directory)
    {
        Config = config;
        CheckpointDirectory = directory;
    }

    public HuggingFaceModelConfig Config { get; }

    public string CheckpointDirectory { get; }

    public int VocabSize { get; private init; }

    public int ContextLength { get; private init; }

    public int Layers { get; private init; }

    public int Heads { get; private init; }

    public int Channels { get; private init; }

    public int Inner { get; private init; }

    public double LayerNormEpsilon { get; private init; }

    /// <summary>Gets whether the MLP uses the exact erf GELU (<c>gelu</c>) instead of GPT-2's tanh form (<c>gelu_new</c>).</summary>
    public bool ExactGelu { get; private init; }

    public int HeadSize => Channels / Heads;

    /// <summary>Gets the tensors by canonical name; <c>lm_head.weight</c> is present only when the head is not tied.</summary>
    public Dictionary<string, float[]> Tensors { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long[]> Shapes { get; } = new(StringComparer.Ordinal);

    public int MergedLoraModules { get; private set; }

    public long ParameterCount => Tensors.Values.Sum(t => (long)t.Length);

    public static async Task<Gpt2ExportWeights> LoadAsync(string directory, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(directory);
        if (!Directory.Exists(full))
        {
            throw new ModelLoadException(full, "no such checkpoint folder.", null);
        }

        var configFile = Path.Combine(full, HuggingFaceModelConfig.FileName);
        var hf = await HuggingFaceModelConfig.ReadAsync(configFile, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(hf.ModelType, "gpt2", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelLoadException(configFile, $"model_type is '{hf.ModelType}'; the ONNX exporter builds GPT-2 ('gpt2') graphs.", null);
        }

        var exact = hf.ActivationFunction switch
        {
            null or "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => false,
            "gelu" => true,
            _ => throw new ModelLoadException(configFile, $"activation_function '{hf.ActivationFunction}' is not supported (gelu_new, gelu_pytorch_tanh and gelu are).", null),
        };
        var c = hf.NEmbd ?? 768;
        var heads = hf.NHead ?? 12;
        var inner = hf.Extra is not null && hf.Extra.TryGetValue("n_inner", out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : 4 * c;
        var weights = new Gpt2ExportWeights(hf, full)
        {
            VocabSize = hf.VocabSize,
            ContextLength = hf.NPositions ?? 1024,
            Layers = hf.NLayer ?? 12,
            Heads = heads,
            Channels = c,
            Inner = inner,
            LayerNormEpsilon = hf.LayerNormEpsilon ?? 1e-5,
            ExactGelu = exact,
        };
        var problems = new List<string>();
        if (weights.ContextLength <= 0 || weights.Layers <= 0 || heads <= 0 || c <= 0 || inner <= 0)
        {
            problems.Add($"n_positions {weights.ContextLength}, n_layer {weights.Layers}, n_head {heads}, n_embd {c} and n_inner {inner} must all be positive");
        }
        else if (c % heads != 0)
        {
            problems.Add($"n_embd {c} is not a multiple of n_head {heads}");
        }

        if (problems.Count > 0)
        {
            throw new ModelLoadException(configFile, string.Join("; ", problems) + ".", null);
        }

        var file = Path.Combine(full, WeightsFile);
        if (!File.Exists(file))
        {
            throw new ModelLoadException(file, "no model.safetensors beside config.json (sharded checkpoints are not supported; save the model as one file).", null);
        }

        using var reader = SafeTensorsReader.Open(file);
        foreach (var (name, shape) in weights.ExpectedTensors())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bare = name["transformer.".Length..];
            var stored = reader.Contains(name) ? name : reader.Contains(bare) ? bare
                : throw new InvalidDataFileException(file, 0, $"tensor '{name}' (shape [{string.Join(", ", shape)}]) is missing; the config (n_layer {weights.Layers}, n_embd {c}, vocab_size {weights.VocabSize}) needs it.");
            weights.Add(name, reader.ReadSingle(stored, shape), shape);
        }

        // An untied head (tie_word_embeddings false) is stored as lm_head.weight [vocab, n_embd], like the embedding.
        if (hf.TieWordEmbeddings == false)
        {
            long[] shape = [weights.VocabSize, c];
            if (!reader.Contains("lm_head.weight"))
            {
                throw new InvalidDataFileException(file, 0, $"tie_word_embeddings is false but tensor 'lm_head.weight' (shape [{shape[0]}, {shape[1]}]) is missing.");
            }

            weights.Add("lm_head.weight", reader.ReadSingle("lm_head.weight", shape), shape);
        }

        return weights;
    }

    /// <summary>Merges a PEFT LoRA adapter: for Conv1D's [in, out] weight, W += (alpha / r)·Aᵀ·Bᵀ with A [r, in] and B [out, r].</summary>
    public async Task MergeLoraAsync(string adapterDirectory, CancellationToken cancellationToken)
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
        var scale = (float)(config.Alpha / r);
        using var reader = SafeTensorsReader.Open(file);
        var merged = 0;
        foreach (var aName in reader.Tensors.Keys.Where(k => k.EndsWith(".lora_A.weight", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var module = aName[..^".lora_A.weight".Length];
            if (module.StartsWith(PeftAdapterConfig.TensorPrefix, StringComparison.Ordinal))
            {
                module = module[PeftAdapterConfig.TensorPrefix.Length..];
            }

            if (!module.StartsWith("transformer.", StringComparison.Ordinal))
            {
                module = "transformer." + module;
            }

            var weightName = module + ".weight";
            if (!Tensors.TryGetValue(weightName, out var w) || !s_sites.Any(s => module.EndsWith("." + s, StringComparison.Ordinal)))
            {
                throw new InvalidDataFileException(file, 0, $"tensor '{aName}' adapts '{module}', which is not a projection of this GPT-2 (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj of layers 0..{Layers - 1}).");
            }

            var inF = (int)Shapes[weightName][0];
            var outF = (int)Shapes[weightName][1];
            var bName = aName[..^".lora_A.weight".Length] + ".lora_B.weight";
            if (!reader.Contains(bName))
            {
                throw new InvalidDataFileException(file, 0, $"tensor '{aName}' has no partner '{bName}'.");
            }

            var a = reader.ReadSingle(aName, [r, inF]);
            var b = reader.ReadSingle(bName, [outF, r]);

            // delta[i, o] = scale · Σk A[k, i] · B[o, k], accumulated in double so the merge adds no rounding of its own.
            var row = new double[outF];
            for (var i = 0; i < inF; i++)
            {
                Array.Clear(row);
                for (var k = 0; k < r; k++)
                {
                    double aki = a[(k * inF) + i];
                    if (aki == 0)
                    {
                        continue;
                    }

                    for (var o = 0; o < outF; o++)
                    {
                        row[o] += aki * b[(o * r) + k];
                    }
                }

                var offset = i * outF;
                for (var o = 0; o < outF; o++)
                {
                    w[offset + o] = (float)(w[offset + o] + (scale * row[o]));
                }
            }

            merged++;
        }

        if (merged == 0)
        {
            throw new InvalidDataFileException(file, 0, $"no LoRA tensors (names ending in .lora_A.weight) in {reader.Tensors.Count} tensors.");
        }

        MergedLoraModules = merged;
    }

    public float[] Get(string name) => Tensors[name];

    public static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);

    private void Add(string name, float[] values, long[] shape)
    {
        Tensors[name] = values;
        Shapes[name] = shape;
    }

    private IEnumerable<(string Name, long[] Shape)> ExpectedTensors()
    {
        long c = Channels, inner = Inner;
        yield return ("transformer.wte.weight", [VocabSize, c]);
        yield return ("transformer.wpe.weight", [ContextLength, c]);
        for (var l = 0; l < Layers; l++)
        {
            var h = $"transformer.h.{Format(l)}.";
            yield return (h + "ln_1.weight", [c]);
            yield return (h + "ln_1.bias", [c]);
            yield return (h + "attn.c_attn.weight", [c, 3 * c]);
            yield return (h + "attn.c_attn.bias", [3 * c]);
            yield return (h + "attn.c_proj.weight", [c, c]);
            yield return (h + "attn.c_proj.bias", [c]);
            yield return (h + "ln_2.weight", [c]);
            yield return (h + "ln_2.bias", [c]);
            yield return (h + "mlp.c_fc.weight", [c, inner]);
            yield return (h + "mlp.c_fc.bias", [inner]);
            yield return (h + "mlp.c_proj.weight", [inner, c]);
            yield return (h + "mlp.c_proj.bias", [c]);
        }

        yield return ("transformer.ln_f.weight", [c]);
        yield return ("transformer.ln_f.bias", [c]);
    }
}
