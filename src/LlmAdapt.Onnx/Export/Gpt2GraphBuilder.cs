namespace LlmAdapt.Onnx.Export;

/// <summary>
/// GPT-2's decoder (learned positions, LayerNorm, GELU MLP, Conv1D projections [in, out] with biases) on the shared
/// inputs, outputs and mask of <see cref="DecoderGraphBuilder"/>.
/// </summary>
internal sealed class Gpt2GraphBuilder(Gpt2ExportWeights weights) : DecoderGraphBuilder(weights, "gpt2_decoder")
{
    private readonly Gpt2ExportWeights _w = weights;

    /// <inheritdoc/>
    protected override string TiedEmbedding => "transformer.wte.weight";

    /// <inheritdoc/>
    protected override string BuildBody()
    {
        int c = _w.Channels, heads = _w.Heads, d = _w.HeadSize;
        Int64s("c_shape_bshd", [0, 0, heads, d]);
        Int64s("c_shape_bsc", [0, 0, c]);
        Int64s("c_split_qkv", [c, c, c]);
        FloatScalar("c_half", 0.5f);
        FloatScalar("c_one_f", 1f);
        if (_w.ExactGelu)
        {
            FloatScalar("c_inv_sqrt2", (float)(1.0 / Math.Sqrt(2.0)));
        }
        else
        {
            FloatScalar("c_gelu_k", 0.044715f);
            FloatScalar("c_gelu_s", 0.7978845608028654f);
        }

        // Embeddings: token + learned position.
        Initializer("transformer.wte.weight");
        Initializer("transformer.wpe.weight");
        Node("Gather", ["transformer.wte.weight", InputIds], ["tok_emb"]);
        Node("Gather", ["transformer.wpe.weight", PositionIds], ["pos_emb"]);
        Node("Add", ["tok_emb", "pos_emb"], ["h_in_0"]);
        var residual = "h_in_0";
        for (var l = 0; l < _w.Layers; l++)
        {
            residual = Block(l, residual);
        }

        return LayerNorm("transformer.ln_f", residual, "ln_f_out");
    }

    private string Block(int l, string input)
    {
        var p = $"transformer.h.{DecoderExportWeights.Format(l)}.";
        var n = $"l{DecoderExportWeights.Format(l)}_";

        // Attention: qkv (B, S, 3C) → q, k, v (B, H, S, D); the cache grows along axis 2.
        var ln1 = LayerNorm(p + "ln_1", input, n + "ln1");
        var qkv = Linear(p + "attn.c_attn", ln1, n + "qkv");
        Node("Split", [qkv, "c_split_qkv"], [n + "q_flat", n + "k_flat", n + "v_flat"], Int("axis", 2));
        foreach (var part in new[] { "q", "k", "v" })
        {
            Node("Reshape", [n + part + "_flat", "c_shape_bshd"], [n + part + "_bshd"]);
            Node("Transpose", [n + part + "_bshd"], [n + part], Ints("perm", [0, 2, 1, 3]));
        }

        var presentKey = Name(PresentKey, l);
        var presentValue = Name(PresentValue, l);
        Node("Concat", [Name(PastKey, l), n + "k"], [presentKey], Int("axis", 2));
        Node("Concat", [Name(PastValue, l), n + "v"], [presentValue], Int("axis", 2));
        Node("Transpose", [presentKey], [n + "k_t"], Ints("perm", [0, 1, 3, 2]));
        Node("MatMul", [n + "q", n + "k_t"], [n + "scores_raw"]);
        Node("Mul", [n + "scores_raw", "c_scale"], [n + "scores"]);
        Node("Where", [Allowed, n + "scores", "c_min"], [n + "scores_masked"]);
        Node("Softmax", [n + "scores_masked"], [n + "probs"], Int("axis", -1));
        Node("MatMul", [n + "probs", presentValue], [n + "att_bhsd"]);
        Node("Transpose", [n + "att_bhsd"], [n + "att_bshd"], Ints("perm", [0, 2, 1, 3]));
        Node("Reshape", [n + "att_bshd", "c_shape_bsc"], [n + "att"]);
        var proj = Linear(p + "attn.c_proj", n + "att", n + "att_proj");
        Node("Add", [input, proj], [n + "h_mid"]);

        // MLP with GPT-2's GELU.
        var ln2 = LayerNorm(p + "ln_2", n + "h_mid", n + "ln2");
        var fc = Linear(p + "mlp.c_fc", ln2, n + "fc");
        var gelu = Gelu(fc, n + "gelu");
        var mlp = Linear(p + "mlp.c_proj", gelu, n + "mlp");
        Node("Add", [n + "h_mid", mlp], [n + "h_out"]);
        return n + "h_out";
    }

    private string Gelu(string x, string output)
    {
        if (_w.ExactGelu)
        {
            // 0.5·x·(1 + erf(x / √2))
            Node("Mul", [x, "c_inv_sqrt2"], [output + "_scaled"]);
            Node("Erf", [output + "_scaled"], [output + "_erf"]);
        }
        else
        {
            // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as the engine computes it.
            Node("Mul", [x, x], [output + "_x2"]);
            Node("Mul", [output + "_x2", x], [output + "_x3"]);
            Node("Mul", [output + "_x3", "c_gelu_k"], [output + "_kx3"]);
            Node("Add", [x, output + "_kx3"], [output + "_inner"]);
            Node("Mul", [output + "_inner", "c_gelu_s"], [output + "_scaled"]);
            Node("Tanh", [output + "_scaled"], [output + "_erf"]);
        }

        Node("Add", [output + "_erf", "c_one_f"], [output + "_onep"]);
        Node("Mul", [x, "c_half"], [output + "_halfx"]);
        Node("Mul", [output + "_halfx", output + "_onep"], [output]);
        return output;
    }

    private string LayerNorm(string prefix, string input, string output)
    {
        Initializer(prefix + ".weight");
        Initializer(prefix + ".bias");
        Node("LayerNormalization", [input, prefix + ".weight", prefix + ".bias"], [output], Int("axis", -1), Float("epsilon", (float)_w.LayerNormEpsilon));
        return output;
    }

    /// <summary>Conv1D: x·W + b with W stored [in, out].</summary>
    private string Linear(string prefix, string input, string output)
    {
        Initializer(prefix + ".weight");
        Initializer(prefix + ".bias");
        Node("MatMul", [input, prefix + ".weight"], [output + "_mm"]);
        Node("Add", [output + "_mm", prefix + ".bias"], [output]);
        return WithLora(prefix, input, output);
    }
}
