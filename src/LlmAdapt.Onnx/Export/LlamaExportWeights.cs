using System.Text.Json;
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
        // Defaults are Hugging Face's LlamaConfig defaults.
        var c = hf.HiddenSize ?? 4096;
        var heads = hf.NumAttentionHeads ?? 32;
        var kvHeads = hf.NumKeyValueHeads ?? heads;
        var headSize = ExtraInt(hf, "head_dim") ?? (heads > 0 ? c / heads : 0);
        var weights = new LlamaExportWeights(hf, directory)
        {
            VocabSize = hf.VocabSize,
            ContextLength = hf.MaxPositionEmbeddings ?? 2048,
            Layers = hf.NumHiddenLayers ?? 32,
            Heads = heads,
            KeyValueHeads = kvHeads,
            HeadSize = headSize,
            Channels = c,
            Intermediate = hf.IntermediateSize ?? 11008,
            RmsNormEpsilon = hf.RmsNormEps ?? 1e-6,
            RopeTheta = hf.RopeTheta ?? 10000,
        };
        weights.Validate(configFile);
        weights.InverseFrequencies = weights.RotaryFrequencies(configFile);

        weights.ReadTensors(
            directory,
            weights.ExpectedTensors(),
            _ => null,
            $"num_hidden_layers {weights.Layers}, hidden_size {c}, num_attention_heads {heads}, num_key_value_heads {kvHeads}, intermediate_size {weights.Intermediate}, vocab_size {weights.VocabSize}",
            hf.TieWordEmbeddings != true,
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

            if (ExtraInt(Config, "head_dim") is null && Channels % Heads != 0)
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

        if (Config.Extra is { } extra)
        {
            if (extra.TryGetValue("hidden_act", out var act) && act.ValueKind == JsonValueKind.String && act.GetString() != "silu")
            {
                problems.Add($"hidden_act '{act.GetString()}' is not supported (silu is)");
            }

            foreach (var flag in new[] { "attention_bias", "mlp_bias" })
            {
                if (extra.TryGetValue(flag, out var value) && value.ValueKind == JsonValueKind.True)
                {
                    problems.Add($"{flag} true is not supported (Llama's projections have no biases)");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new ModelLoadException(configFile, string.Join("; ", problems) + ".", null);
        }
    }

    /// <summary>
    /// θ^(−2i/D) for i &lt; D/2, then Hugging Face's <c>rope_scaling</c>: <c>linear</c> divides every frequency by
    /// <c>factor</c>; <c>llama3</c> (Llama 3.1 and later) divides the low frequencies (wavelength above
    /// original_max_position_embeddings / low_freq_factor) by <c>factor</c>, keeps the high ones (wavelength below
    /// original_max_position_embeddings / high_freq_factor) and blends in between. Other types are refused.
    /// </summary>
    private double[] RotaryFrequencies(string configFile)
    {
        var half = HeadSize / 2;
        var frequencies = new double[half];
        for (var i = 0; i < half; i++)
        {
            frequencies[i] = Math.Pow(RopeTheta, -2.0 * i / HeadSize);
        }

        if (Config.Extra is null || !Config.Extra.TryGetValue("rope_scaling", out var scaling) || scaling.ValueKind == JsonValueKind.Null)
        {
            return frequencies;
        }

        string? Text(string key) => scaling.ValueKind == JsonValueKind.Object && scaling.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        double? Number(string key) => scaling.ValueKind == JsonValueKind.Object && scaling.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        var type = Text("rope_type") ?? Text("type");
        var factor = Number("factor");
        if (type == "default")
        {
            return frequencies;
        }

        if (type is not ("linear" or "llama3") || factor is not > 0)
        {
            throw new ModelLoadException(configFile, $"rope_scaling {scaling.GetRawText()} is not supported (none, default, linear and llama3 with a positive factor are).", null);
        }

        if (type == "linear")
        {
            return [.. frequencies.Select(f => f / factor.Value)];
        }

        // Llama 3.1's values where a config leaves one out.
        double low = Number("low_freq_factor") ?? 1, high = Number("high_freq_factor") ?? 4;
        var original = Number("original_max_position_embeddings") ?? 8192;
        if (high <= low)
        {
            throw new ModelLoadException(configFile, $"rope_scaling high_freq_factor {high} must exceed low_freq_factor {low}.", null);
        }

        for (var i = 0; i < half; i++)
        {
            var wavelength = 2 * Math.PI / frequencies[i];
            if (wavelength > original / low)
            {
                frequencies[i] /= factor.Value;
            }
            else if (wavelength >= original / high)
            {
                var smooth = ((original / wavelength) - low) / (high - low);
                frequencies[i] = ((1 - smooth) * frequencies[i] / factor.Value) + (smooth * frequencies[i]);
            }
        }

        return frequencies;
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
