using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// A Llama checkpoint read for export: Hugging Face's tensor names (<c>model.layers.0.self_attn.q_proj.weight</c>,
/// nn.Linear weights [out, in], no biases), RMSNorm, rotary positions with base <c>rope_theta</c>, SwiGLU MLP and
/// grouped-query attention with <c>num_key_value_heads</c> key/value heads.
/// </summary>
internal sealed class LlamaExportWeights : DecoderExportWeights
{
    private static readonly string[] s_sites =
    [
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
    ];

    private LlamaExportWeights(HuggingFaceModelConfig config, string directory)
        : base(config, directory)
    {
    }

    /// <inheritdoc/>
    public override string Architecture => "llama";

    /// <summary>Gets ONNX Runtime GenAI's Llama type (its decoder-only model with the split <c>past_key_values.%d.key/value</c> cache).</summary>
    public override string GenAIModelType => "llama";

    public int Intermediate { get; private init; }

    public double RmsNormEpsilon { get; private init; }

    public double RopeTheta { get; private init; }

    /// <summary>Gets the rotary frequency of each pair i &lt; D/2: θ^(−2i/D), rescaled as <c>rope_scaling</c> says (linear or llama3).</summary>
    public double[] InverseFrequencies { get; private set; } = [];

    /// <inheritdoc/>
    protected override bool ProjectionsAreInputMajor => false;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> LoraSites => s_sites;

    public static LlamaExportWeights Load(HuggingFaceModelConfig hf, string directory, string configFile, CancellationToken cancellationToken)
    {
        // Sizes, with Hugging Face's LlamaConfig defaults, and the rotary frequencies come from the one config record.
        var c = hf.Width;
        var heads = hf.HeadCount;
        var kvHeads = hf.KeyValueHeadCount;
        var weights = new LlamaExportWeights(hf, directory)
        {
            VocabSize = hf.VocabSize,
            ContextLength = hf.ContextLength,
            Layers = hf.LayerCount,
            Heads = heads,
            KeyValueHeads = kvHeads,
            HeadSize = hf.HeadSize,
            Channels = c,
            Intermediate = hf.MlpWidth,
            RmsNormEpsilon = hf.NormEpsilon,
            RopeTheta = hf.RotaryBase,
        };
        weights.Validate(configFile);
        weights.InverseFrequencies = hf.RotaryFrequencies(configFile);

        weights.ReadTensors(
            directory,
            weights.ExpectedTensors(),
            _ => null,
            $"num_hidden_layers {weights.Layers}, hidden_size {c}, num_attention_heads {heads}, num_key_value_heads {kvHeads}, intermediate_size {weights.Intermediate}, vocab_size {weights.VocabSize}",
            !hf.TiesWordEmbeddings,
            cancellationToken);
        return weights;
    }

    /// <inheritdoc/>
    public override DecoderGraphBuilder CreateGraphBuilder(bool float16Weights) => new LlamaGraphBuilder(this) { Float16Weights = float16Weights };

    private void Validate(string configFile)
    {
        var problems = new List<string>();
        if (ContextLength <= 0 || Layers <= 0 || Heads <= 0 || KeyValueHeads <= 0 || Channels <= 0 || Intermediate <= 0 || HeadSize <= 0)
        {
            problems.Add($"max_position_embeddings {ContextLength}, num_hidden_layers {Layers}, num_attention_heads {Heads}, num_key_value_heads {KeyValueHeads}, hidden_size {Channels}, intermediate_size {Intermediate} and head size {HeadSize} must all be positive");
        }
        else
        {
            if (Heads % KeyValueHeads != 0)
            {
                problems.Add($"num_attention_heads {Heads} is not a multiple of num_key_value_heads {KeyValueHeads}");
            }

            if (Config.HeadDim is null && Channels % Heads != 0)
            {
                problems.Add($"hidden_size {Channels} is not a multiple of num_attention_heads {Heads}");
            }

            if (HeadSize % 2 != 0)
            {
                problems.Add($"the head size {HeadSize} is odd; rotary embeddings rotate pairs");
            }
        }

        if (RopeTheta <= 0 || RmsNormEpsilon < 0)
        {
            problems.Add($"rope_theta {RopeTheta} must be positive and rms_norm_eps {RmsNormEpsilon} not negative");
        }

        problems.AddRange(Config.LlamaFeatureProblems());

        if (problems.Count > 0)
        {
            throw new ModelLoadException(configFile, string.Join("; ", problems) + ".", null);
        }
    }

    private IEnumerable<(string Name, long[] Shape)> ExpectedTensors()
    {
        long c = Channels, inner = Intermediate, q = (long)Heads * HeadSize, kv = (long)KeyValueHeads * HeadSize;
        yield return ("model.embed_tokens.weight", [VocabSize, c]);
        for (var l = 0; l < Layers; l++)
        {
            var h = $"model.layers.{Format(l)}.";
            yield return (h + "input_layernorm.weight", [c]);
            yield return (h + "self_attn.q_proj.weight", [q, c]);
            yield return (h + "self_attn.k_proj.weight", [kv, c]);
            yield return (h + "self_attn.v_proj.weight", [kv, c]);
            yield return (h + "self_attn.o_proj.weight", [c, q]);
            yield return (h + "post_attention_layernorm.weight", [c]);
            yield return (h + "mlp.gate_proj.weight", [inner, c]);
            yield return (h + "mlp.up_proj.weight", [inner, c]);
            yield return (h + "mlp.down_proj.weight", [c, inner]);
        }

        yield return ("model.norm.weight", [c]);
    }
}
