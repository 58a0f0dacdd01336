namespace LlmAdapt.Onnx.Export;

/// <summary>
/// Llama's decoder on the shared inputs, outputs and mask of <see cref="DecoderGraphBuilder"/>: RMSNorm, rotary
/// position embeddings in Hugging Face's rotate-half convention (the pair (i, i + D/2) of each head turned by
/// position·θ^(−2i/D), positions read from <c>position_ids</c>), grouped-query attention whose KV cache holds
/// <c>num_key_value_heads</c> heads, and the SwiGLU MLP down(silu(gate(x))·up(x)).
/// </summary>
/// <remarks>
/// Query head h reads key/value head h / (heads / kv_heads), as Hugging Face's repeat_kv arranges them: the queries are
/// viewed as [batch, kv_heads, group, sequence, D] and the cache broadcast over the group axis, so the cache is never
/// copied per query head. The rotary tables [context, D/2] are computed once in double at export.
/// </remarks>
internal sealed class LlamaGraphBuilder(LlamaExportWeights weights) : DecoderGraphBuilder(weights, "llama_decoder")
{
    private readonly LlamaExportWeights _w = weights;

    /// <inheritdoc/>
    protected override string TiedEmbedding => "model.embed_tokens.weight";

    /// <inheritdoc/>
    protected override string BuildBody()
    {
        int heads = _w.Heads, kvHeads = _w.KeyValueHeads, d = _w.HeadSize;
        Int64s("c_shape_q_bshd", [0, 0, heads, d]);
        Int64s("c_shape_kv_bshd", [0, 0, kvHeads, d]);
        Int64s("c_shape_q_groups", [0, 0, kvHeads, heads / kvHeads, d]);
        Int64s("c_shape_bs_qd", [0, 0, heads * d]);
        Int64s("c_split_half", [d / 2, d / 2]);
        FloatScalar("c_rms_eps", (float)_w.RmsNormEpsilon);
        RotaryTables();

        // The mask [B, 1, 1, S, T] for scores [B, KV, G, S, T].
        Node("Unsqueeze", [Allowed, "c_axes_1"], ["m_allowed_groups"]);

        Initializer("model.embed_tokens.weight");
        Node("Gather", ["model.embed_tokens.weight", InputIds], ["h_in_0"]);
        var residual = "h_in_0";
        for (var l = 0; l < _w.Layers; l++)
        {
            residual = Block(l, residual);
        }

        return RmsNorm("model.norm", residual, "norm_out");
    }

    /// <summary>cos and sin of position·θ^(−2i/D) (rescaled by rope_scaling) for every position of the context and i &lt; D/2, gathered by position_ids to [batch, sequence, 1, D/2].</summary>
    private void RotaryTables()
    {
        int context = _w.ContextLength, half = _w.HeadSize / 2;
        var cos = new float[context * half];
        var sin = new float[context * half];
        for (var p = 0; p < context; p++)
        {
            for (var i = 0; i < half; i++)
            {
                var angle = p * _w.InverseFrequencies[i];
                cos[(p * half) + i] = (float)Math.Cos(angle);
                sin[(p * half) + i] = (float)Math.Sin(angle);
            }
        }

        FloatTensor("rope_cos", [context, half], cos);
        FloatTensor("rope_sin", [context, half], sin);
        Node("Gather", ["rope_cos", PositionIds], ["rope_cos_bsd"]);
        Node("Gather", ["rope_sin", PositionIds], ["rope_sin_bsd"]);
        Node("Unsqueeze", ["rope_cos_bsd", "c_axes_2"], ["rope_cos_bs1d"]);
        Node("Unsqueeze", ["rope_sin_bsd", "c_axes_2"], ["rope_sin_bs1d"]);
    }

    private string Block(int l, string input)
    {
        var p = $"model.layers.{DecoderExportWeights.Format(l)}.";
        var n = $"l{DecoderExportWeights.Format(l)}_";

        // Attention. q (B, S, H, D) → (B, KV, G, S, D); k, v (B, S, KV, D) → (B, KV, S, D), appended to the cache.
        var x = RmsNorm(p + "input_layernorm", input, n + "ln1");
        Node("Reshape", [Linear(p + "self_attn.q_proj", x, n + "q_flat"), "c_shape_q_bshd"], [n + "q_bshd"]);
        Node("Reshape", [Linear(p + "self_attn.k_proj", x, n + "k_flat"), "c_shape_kv_bshd"], [n + "k_bshd"]);
        Node("Reshape", [Linear(p + "self_attn.v_proj", x, n + "v_flat"), "c_shape_kv_bshd"], [n + "v_bshd"]);
        var q = Rotate(n + "q_bshd", n + "q_rot");
        var k = Rotate(n + "k_bshd", n + "k_rot");
        Node("Reshape", [q, "c_shape_q_groups"], [n + "q_groups"]);
        Node("Transpose", [n + "q_groups"], [n + "q"], Ints("perm", [0, 2, 3, 1, 4]));
        Node("Transpose", [k], [n + "k"], Ints("perm", [0, 2, 1, 3]));
        Node("Transpose", [n + "v_bshd"], [n + "v"], Ints("perm", [0, 2, 1, 3]));

        var presentKey = Name(PresentKey, l);
        var presentValue = Name(PresentValue, l);
        Node("Concat", [Name(PastKey, l), n + "k"], [presentKey], Int("axis", 2));
        Node("Concat", [Name(PastValue, l), n + "v"], [presentValue], Int("axis", 2));

        // scores (B, KV, G, S, T) = q · kᵀ over the group axis broadcast; the mask gains that axis too.
        Node("Transpose", [presentKey], [n + "k_t"], Ints("perm", [0, 1, 3, 2]));
        Node("Unsqueeze", [n + "k_t", "c_axes_2"], [n + "k_t_groups"]);
        Node("Unsqueeze", [presentValue, "c_axes_2"], [n + "v_groups"]);
        Node("MatMul", [n + "q", n + "k_t_groups"], [n + "scores_raw"]);
        Node("Mul", [n + "scores_raw", "c_scale"], [n + "scores"]);
        Node("Where", ["m_allowed_groups", n + "scores", "c_min"], [n + "scores_masked"]);
        Node("Softmax", [n + "scores_masked"], [n + "probs"], Int("axis", -1));
        Node("MatMul", [n + "probs", n + "v_groups"], [n + "att_groups"]);
        Node("Transpose", [n + "att_groups"], [n + "att_bs_kv_g_d"], Ints("perm", [0, 3, 1, 2, 4]));
        Node("Reshape", [n + "att_bs_kv_g_d", "c_shape_bs_qd"], [n + "att"]);
        var attention = Linear(p + "self_attn.o_proj", n + "att", n + "att_proj");
        Node("Add", [input, attention], [n + "h_mid"]);

        // SwiGLU MLP.
        var y = RmsNorm(p + "post_attention_layernorm", n + "h_mid", n + "ln2");
        var gate = Linear(p + "mlp.gate_proj", y, n + "gate");
        var up = Linear(p + "mlp.up_proj", y, n + "up");
        Node("Sigmoid", [gate], [n + "gate_sigmoid"]);
        Node("Mul", [gate, n + "gate_sigmoid"], [n + "gate_silu"]);
        Node("Mul", [n + "gate_silu", up], [n + "swiglu"]);
        var down = Linear(p + "mlp.down_proj", n + "swiglu", n + "mlp");
        Node("Add", [n + "h_mid", down], [n + "h_out"]);
        return n + "h_out";
    }

    /// <summary>Rotate-half RoPE on (B, S, heads, D): [x1·cos − x2·sin, x2·cos + x1·sin] with x1, x2 the two halves of D.</summary>
    private string Rotate(string x, string output)
    {
        Node("Split", [x, "c_split_half"], [output + "_x1", output + "_x2"], Int("axis", -1));
        Node("Mul", [output + "_x1", "rope_cos_bs1d"], [output + "_x1c"]);
        Node("Mul", [output + "_x2", "rope_sin_bs1d"], [output + "_x2s"]);
        Node("Mul", [output + "_x2", "rope_cos_bs1d"], [output + "_x2c"]);
        Node("Mul", [output + "_x1", "rope_sin_bs1d"], [output + "_x1s"]);
        Node("Sub", [output + "_x1c", output + "_x2s"], [output + "_first"]);
        Node("Add", [output + "_x2c", output + "_x1s"], [output + "_second"]);
        Node("Concat", [output + "_first", output + "_second"], [output], Int("axis", -1));
        return output;
    }

    /// <summary>RMSNorm: x / √(mean(x²) + ε) · weight over the last axis (opset 17 has no RMSNormalization).</summary>
    private string RmsNorm(string prefix, string input, string output)
    {
        Initializer(prefix + ".weight");
        Node("Mul", [input, input], [output + "_sq"]);
        Node("ReduceMean", [output + "_sq"], [output + "_ms"], Ints("axes", [-1]), Int("keepdims", 1));
        Node("Add", [output + "_ms", "c_rms_eps"], [output + "_ms_eps"]);
        Node("Sqrt", [output + "_ms_eps"], [output + "_rms"]);
        Node("Div", [input, output + "_rms"], [output + "_normed"]);
        Node("Mul", [output + "_normed", prefix + ".weight"], [output]);
        return output;
    }

    /// <summary>nn.Linear without bias: x·Wᵀ, with W [out, in] stored transposed.</summary>
    private string Linear(string prefix, string input, string output)
    {
        TransposedInitializer(prefix + ".weight");
        Node("MatMul", [input, prefix + ".weight"], [output]);
        return WithLora(prefix, input, output);
    }
}
