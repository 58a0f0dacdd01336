using Google.Protobuf;
using LlmAdapt.Onnx.Graph;
using Onnx;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// Builds GPT-2's decoder as a standard-op ONNX graph (opset 17) with a KV cache in the split layout:
/// inputs <c>input_ids</c>, <c>attention_mask</c>, <c>position_ids</c> (int64) and
/// <c>past_key_values.{i}.key/value</c> [batch, heads, past_sequence, head_size]; outputs <c>logits</c>
/// [batch, sequence, vocab] and <c>present.{i}.key/value</c> [batch, heads, past_sequence + sequence, head_size].
/// </summary>
/// <remarks>
/// Query t of the new tokens sits at cache slot past + t and may attend to slots 0..past + t whose attention_mask is 1
/// (left padding is masked that way). Masked scores are replaced (not added to) by the lowest float, so a query with
/// nothing to attend to (a padding slot) gets a uniform, finite softmax instead of NaN.
/// </remarks>
internal sealed class Gpt2GraphBuilder
{
    public const int Opset = 17;
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string PositionIds = "position_ids";
    public const string Logits = "logits";
    public const string PastKey = "past_key_values.%d.key";
    public const string PastValue = "past_key_values.%d.value";
    public const string PresentKey = "present.%d.key";
    public const string PresentValue = "present.%d.value";

    private readonly Gpt2ExportWeights _w;
    private readonly GraphProto _graph = new() { Name = "gpt2_decoder" };

    public Gpt2GraphBuilder(Gpt2ExportWeights weights) => _w = weights;

    public static string Name(string pattern, int layer) => pattern.Replace("%d", Gpt2ExportWeights.Format(layer), StringComparison.Ordinal);

    public ModelProto Build()
    {
        int c = _w.Channels, heads = _w.Heads, d = _w.HeadSize;
        AddInput(InputIds, TensorProto.Types.DataType.Int64, "batch_size", "sequence_length");
        AddInput(AttentionMask, TensorProto.Types.DataType.Int64, "batch_size", "total_sequence_length");
        AddInput(PositionIds, TensorProto.Types.DataType.Int64, "batch_size", "sequence_length");
        for (var l = 0; l < _w.Layers; l++)
        {
            AddInput(Name(PastKey, l), TensorProto.Types.DataType.Float, "batch_size", heads, "past_sequence_length", d);
            AddInput(Name(PastValue, l), TensorProto.Types.DataType.Float, "batch_size", heads, "past_sequence_length", d);
        }

        AddOutput(Logits, "batch_size", "sequence_length", _w.VocabSize);
        for (var l = 0; l < _w.Layers; l++)
        {
            AddOutput(Name(PresentKey, l), "batch_size", heads, "total_sequence_length", d);
            AddOutput(Name(PresentValue, l), "batch_size", heads, "total_sequence_length", d);
        }

        // Constants shared by every layer.
        Int64s("c_shape_bshd", [0, 0, heads, d]);
        Int64s("c_shape_bsc", [0, 0, c]);
        Int64s("c_shape_nc", [-1, c]);
        Int64s("c_split_qkv", [c, c, c]);
        Int64s("c_axes_0", [0]);
        Int64s("c_axes_1", [1]);
        Int64s("c_axes_12", [1, 2]);
        Int64s("c_vocab", [_w.VocabSize]);
        Int64Scalar("c_zero", 0);
        Int64Scalar("c_one", 1);
        Int64Scalar("c_index1", 1);
        FloatScalar("c_min", float.MinValue);
        FloatScalar("c_scale", (float)(1.0 / Math.Sqrt(d)));
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

        BuildMask();

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

        var lnf = LayerNorm("transformer.ln_f", residual, "ln_f_out");

        // Head: logits = ln_f · Wᵀ through Gemm(transB), so a tied embedding is stored once, not twice.
        var head = _w.Tensors.ContainsKey("lm_head.weight") ? "lm_head.weight" : "transformer.wte.weight";
        if (head == "lm_head.weight")
        {
            Initializer(head);
        }

        Node("Reshape", [lnf, "c_shape_nc"], ["ln_f_2d"]);
        Node("Gemm", ["ln_f_2d", head], ["logits_2d"], Int("transB", 1));
        Node("Shape", [InputIds], ["ids_shape"]);
        Node("Concat", ["ids_shape", "c_vocab"], ["logits_shape"], Int("axis", 0));
        Node("Reshape", ["logits_2d", "logits_shape"], [Logits]);

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "LlmAdapt",
            ProducerVersion = typeof(Gpt2GraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = _graph,
            DocString = "GPT-2 decoder with KV cache, exported by LlmAdapt.Onnx.Export.OnnxDecoderExporter.",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        OnnxModels.SetMetadata(model, "llmadapt.export.architecture", "gpt2");
        return model;
    }

    /// <summary>allowed [batch, 1, sequence, total]: key slot j is visible to query t when j ≤ past + t and attention_mask[j] is 1.</summary>
    private void BuildMask()
    {
        Node("Shape", [InputIds], ["m_ids_shape"]);
        Node("Gather", ["m_ids_shape", "c_index1"], ["m_seq"], Int("axis", 0));
        Node("Shape", [AttentionMask], ["m_mask_shape"]);
        Node("Gather", ["m_mask_shape", "c_index1"], ["m_total"], Int("axis", 0));
        Node("Sub", ["m_total", "m_seq"], ["m_past"]);
        Node("Range", ["m_past", "m_total", "c_one"], ["m_query_slots"]);
        Node("Range", ["c_zero", "m_total", "c_one"], ["m_key_slots"]);
        Node("Unsqueeze", ["m_query_slots", "c_axes_1"], ["m_query_col"]);
        Node("Unsqueeze", ["m_key_slots", "c_axes_0"], ["m_key_row"]);
        Node("LessOrEqual", ["m_key_row", "m_query_col"], ["m_causal"]);
        Node("Cast", [AttentionMask], ["m_pad_bool"], Int("to", (long)TensorProto.Types.DataType.Bool));
        Node("Unsqueeze", ["m_pad_bool", "c_axes_12"], ["m_pad_b11t"]);
        Node("And", ["m_causal", "m_pad_b11t"], ["m_allowed"]);
    }

    private string Block(int l, string input)
    {
        var p = $"transformer.h.{Gpt2ExportWeights.Format(l)}.";
        var n = $"l{Gpt2ExportWeights.Format(l)}_";

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
        Node("Where", ["m_allowed", n + "scores", "c_min"], [n + "scores_masked"]);
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
        var node = Node("LayerNormalization", [input, prefix + ".weight", prefix + ".bias"], [output], Int("axis", -1));
        node.Attribute.Add(new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = (float)_w.LayerNormEpsilon });
        return output;
    }

    private string Linear(string prefix, string input, string output)
    {
        Initializer(prefix + ".weight");
        Initializer(prefix + ".bias");
        Node("MatMul", [input, prefix + ".weight"], [output + "_mm"]);
        Node("Add", [output + "_mm", prefix + ".bias"], [output]);
        return output;
    }

    private void Initializer(string name) => _graph.Initializer.Add(OnnxTensors.Floats(name, _w.Shapes[name], _w.Get(name)));

    private void Int64s(string name, long[] values) => _graph.Initializer.Add(OnnxTensors.Int64(name, [values.Length], values));

    private void Int64Scalar(string name, long value) => _graph.Initializer.Add(OnnxTensors.Int64(name, [], [value]));

    private void FloatScalar(string name, float value) => _graph.Initializer.Add(OnnxTensors.Floats(name, [], [value]));

    private NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = OnnxModels.Node(op, $"{op}_{_graph.Node.Count}", inputs, outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return node;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Ints(string name, long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private void AddInput(string name, TensorProto.Types.DataType type, params object[] dims) => _graph.Input.Add(Value(name, type, dims));

    private void AddOutput(string name, params object[] dims) => _graph.Output.Add(Value(name, TensorProto.Types.DataType.Float, dims));

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Dimension {dim} is neither a name nor a size.", nameof(dims)),
            });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    /// <summary>Moves every initializer of at least <paramref name="minimumBytes"/> into <paramref name="dataFileName"/>, written to <paramref name="dataStream"/>.</summary>
    public static void MoveToExternalData(ModelProto model, Stream dataStream, string dataFileName, int minimumBytes = 1024)
    {
        long offset = 0;
        foreach (var tensor in model.Graph.Initializer)
        {
            if (tensor.RawData.Length < minimumBytes)
            {
                continue;
            }

            // Aligned to 4 KiB so ONNX Runtime can map each tensor straight from the file.
            var padding = (4096 - (offset % 4096)) % 4096;
            if (padding > 0)
            {
                dataStream.Write(new byte[padding]);
                offset += padding;
            }

            tensor.RawData.WriteTo(dataStream);
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataFileName });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            offset += tensor.RawData.Length;
            tensor.RawData = ByteString.Empty;
        }
    }
}
