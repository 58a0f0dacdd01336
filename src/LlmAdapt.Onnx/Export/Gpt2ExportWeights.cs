using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// A GPT-2 checkpoint read for export: tensors under their canonical names (<c>transformer.h.0.attn.c_attn.weight</c>,
/// Conv1D weights [in, out]); names saved without the <c>transformer.</c> prefix are accepted too.
/// </summary>
internal sealed class Gpt2ExportWeights : DecoderExportWeights
{
    private static readonly string[] s_sites = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"];

    private Gpt2ExportWeights(HuggingFaceModelConfig config, string directory)
        : base(config, directory)
    {
    }

    /// <inheritdoc/>
    public override string Architecture => "gpt2";

    /// <summary>
    /// Gets ONNX Runtime GenAI's generic decoder-only type: its <c>gpt2</c> type expects the combined <c>past_%d</c>
    /// cache of older GPT-2 exports and refuses the split <c>past_key_values.%d.key/value</c> layout written here
    /// ("Model input was not found"), which the generic type reads.
    /// </summary>
    public override string GenAIModelType => "decoder";

    public int Inner { get; private init; }

    public double LayerNormEpsilon { get; private init; }

    /// <summary>Gets whether the MLP uses the exact erf GELU (<c>gelu</c>) instead of GPT-2's tanh form (<c>gelu_new</c>).</summary>
    public bool ExactGelu { get; private init; }

    /// <inheritdoc/>
    protected override bool ProjectionsAreInputMajor => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> LoraSites => s_sites;

    public static Gpt2ExportWeights Load(HuggingFaceModelConfig hf, string directory, string configFile, CancellationToken cancellationToken)
    {
        var exact = hf.ActivationFunction switch
        {
            null or "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => false,
            "gelu" => true,
            _ => throw new ModelLoadException(configFile, $"activation_function '{hf.ActivationFunction}' is not supported (gelu_new, gelu_pytorch_tanh and gelu are).", null),
        };
        var c = hf.Width;
        var heads = hf.HeadCount;
        var inner = hf.MlpWidth;
        var weights = new Gpt2ExportWeights(hf, directory)
        {
            VocabSize = hf.VocabSize,
            ContextLength = hf.ContextLength,
            Layers = hf.LayerCount,
            Heads = heads,
            KeyValueHeads = heads,
            HeadSize = hf.HeadSize,
            Channels = c,
            Inner = inner,
            LayerNormEpsilon = hf.NormEpsilon,
            ExactGelu = exact,
        };
        if (weights.ContextLength <= 0 || weights.Layers <= 0 || heads <= 0 || c <= 0 || inner <= 0)
        {
            throw new ModelLoadException(configFile, $"n_positions {weights.ContextLength}, n_layer {weights.Layers}, n_head {heads}, n_embd {c} and n_inner {inner} must all be positive.", null);
        }

        if (c % heads != 0)
        {
            throw new ModelLoadException(configFile, $"n_embd {c} is not a multiple of n_head {heads}.", null);
        }

        weights.ReadTensors(
            directory,
            weights.ExpectedTensors(),
            name => name["transformer.".Length..],
            $"n_layer {weights.Layers}, n_embd {c}, vocab_size {weights.VocabSize}",
            !hf.TiesWordEmbeddings,
            cancellationToken);
        return weights;
    }

    /// <inheritdoc/>
    public override DecoderGraphBuilder CreateGraphBuilder(bool float16Weights) => new Gpt2GraphBuilder(this) { Float16Weights = float16Weights };

    /// <inheritdoc/>
    protected override string CanonicalModule(string module)
        => module.StartsWith("transformer.", StringComparison.Ordinal) ? module : "transformer." + module;

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
