using System.Globalization;
using Google.Protobuf;
using LlmAdapt.Onnx.Graph;
using Onnx;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// What every exported decoder graph shares (opset 17, standard ops only): inputs <c>input_ids</c>,
/// <c>attention_mask</c>, <c>position_ids</c> (int64) and <c>past_key_values.{i}.key/value</c>
/// [batch, kv_heads, past_sequence, head_size]; outputs <c>logits</c> [batch, sequence, vocab] and
/// <c>present.{i}.key/value</c> [batch, kv_heads, past_sequence + sequence, head_size]; the causal + padding mask; the
/// output head; and the node, initializer and attribute helpers the architectures build their blocks with.
/// </summary>
/// <remarks>
/// Query t of the new tokens sits at cache slot past + t and may attend to slots 0..past + t whose attention_mask is 1
/// (left padding is masked that way). Masked scores are replaced (not added to) by the lowest float, so a query with
/// nothing to attend to (a padding slot) gets a uniform, finite softmax instead of NaN.
/// </remarks>
internal abstract class DecoderGraphBuilder
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

    /// <summary>The mask [batch, 1, sequence, total]: true where query t may attend to key slot j.</summary>
    protected const string Allowed = "m_allowed";

    private readonly DecoderExportWeights _w;

    protected DecoderGraphBuilder(DecoderExportWeights weights, string graphName)
    {
        _w = weights;
        Graph = new GraphProto { Name = graphName };
    }

    /// <summary>
    /// Gets or sets whether checkpoint weights are stored as float16 initializers, each cast to float32 once in the
    /// graph (ONNX Runtime folds the casts when it loads the session): half the file, fp32 arithmetic, inputs and outputs.
    /// </summary>
    public bool Float16Weights { get; init; }

    protected GraphProto Graph { get; }

    public static string Name(string pattern, int layer) => pattern.Replace("%d", DecoderExportWeights.Format(layer), StringComparison.Ordinal);

    public ModelProto Build()
    {
        int kvHeads = _w.KeyValueHeads, d = _w.HeadSize;
        AddInput(InputIds, TensorProto.Types.DataType.Int64, "batch_size", "sequence_length");
        AddInput(AttentionMask, TensorProto.Types.DataType.Int64, "batch_size", "total_sequence_length");
        AddInput(PositionIds, TensorProto.Types.DataType.Int64, "batch_size", "sequence_length");
        for (var l = 0; l < _w.Layers; l++)
        {
            AddInput(Name(PastKey, l), TensorProto.Types.DataType.Float, "batch_size", kvHeads, "past_sequence_length", d);
            AddInput(Name(PastValue, l), TensorProto.Types.DataType.Float, "batch_size", kvHeads, "past_sequence_length", d);
        }

        AddOutput(Logits, "batch_size", "sequence_length", _w.VocabSize);
        for (var l = 0; l < _w.Layers; l++)
        {
            AddOutput(Name(PresentKey, l), "batch_size", kvHeads, "total_sequence_length", d);
            AddOutput(Name(PresentValue, l), "batch_size", kvHeads, "total_sequence_length", d);
        }

        // Constants shared by every architecture.
        Int64s("c_shape_nc", [-1, _w.Channels]);
        Int64s("c_axes_0", [0]);
        Int64s("c_axes_1", [1]);
        Int64s("c_axes_2", [2]);
        Int64s("c_axes_12", [1, 2]);
        Int64s("c_vocab", [_w.VocabSize]);
        Int64Scalar("c_zero", 0);
        Int64Scalar("c_one", 1);
        Int64Scalar("c_index1", 1);
        FloatScalar("c_min", float.MinValue);
        FloatScalar("c_scale", (float)(1.0 / Math.Sqrt(d)));
        BuildMask();

        var hidden = BuildBody();
        Head(hidden);

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "LlmAdapt",
            ProducerVersion = typeof(DecoderGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            Graph = Graph,
            DocString = $"{_w.Architecture} decoder with KV cache, exported by LlmAdapt.Onnx.Export.OnnxDecoderExporter.",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        OnnxModels.SetMetadata(model, "llmadapt.export.architecture", _w.Architecture);
        return model;
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
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(CultureInfo.InvariantCulture) });
            offset += tensor.RawData.Length;
            tensor.RawData = ByteString.Empty;
        }
    }

    /// <summary>Embeddings and blocks; returns the final normalized hidden state (batch, sequence, channels).</summary>
    protected abstract string BuildBody();

    /// <summary>Gets the head weight [vocab, channels]: <c>lm_head.weight</c>, or the token embedding when tied.</summary>
    protected abstract string TiedEmbedding { get; }

    /// <summary>Adds a weight as an initializer under its checkpoint name and shape.</summary>
    protected void Initializer(string name) => Weight(name, _w.Shapes[name], _w.Get(name));

    /// <summary>Adds an nn.Linear weight [out, in] transposed to [in, out], for MatMul, under its checkpoint name.</summary>
    protected void TransposedInitializer(string name)
    {
        var shape = _w.Shapes[name];
        int rows = (int)shape[0], columns = (int)shape[1];
        var source = _w.Get(name);
        var transposed = new float[source.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                transposed[(c * rows) + r] = source[(r * columns) + c];
            }
        }

        Weight(name, [columns, rows], transposed);
    }

    /// <summary>
    /// Adds <paramref name="module"/>'s LoRA update to <paramref name="projected"/> when the adapter is kept separate:
    /// projected + (x·Aᵀ)·(scale·B)ᵀ with A [rank, in] and scale·B [out, rank] graph inputs named as the adapter's
    /// parameters (overridable initializers whose default, rank 1 of zeros, leaves the base model). Returns the name
    /// of the result, which is <paramref name="projected"/> itself for a module without an update.
    /// </summary>
    protected string WithLora(string module, string input, string projected)
    {
        if (!_w.SeparateLora.TryGetValue(module, out var update))
        {
            return projected;
        }

        // One rank symbol per projection: ONNX Runtime plans buffers assuming equal symbols mean equal sizes, and an
        // adapter may leave some projections at the rank-1 default while others take its rank.
        var rank = update.Module + ".lora_rank";
        Graph.Input.Add(Value(update.AName, TensorProto.Types.DataType.Float, [rank, update.In]));
        Graph.Input.Add(Value(update.BName, TensorProto.Types.DataType.Float, [update.Out, rank]));
        FloatTensor(update.AName, [1, update.In], new float[update.In]);
        FloatTensor(update.BName, [update.Out, 1], new float[update.Out]);
        Node("Transpose", [update.AName], [projected + "_lora_at"], Ints("perm", [1, 0]));
        Node("Transpose", [update.BName], [projected + "_lora_bt"], Ints("perm", [1, 0]));
        Node("MatMul", [input, projected + "_lora_at"], [projected + "_lora_down"]);
        Node("MatMul", [projected + "_lora_down", projected + "_lora_bt"], [projected + "_lora_up"]);
        Node("Add", [projected, projected + "_lora_up"], [projected + "_with_lora"]);
        return projected + "_with_lora";
    }

    protected void FloatTensor(string name, long[] shape, float[] values) => Graph.Initializer.Add(OnnxTensors.Floats(name, shape, values));

    protected void Int64s(string name, long[] values) => Graph.Initializer.Add(OnnxTensors.Int64(name, [values.Length], values));

    protected void Int64Scalar(string name, long value) => Graph.Initializer.Add(OnnxTensors.Int64(name, [], [value]));

    protected void FloatScalar(string name, float value) => Graph.Initializer.Add(OnnxTensors.Floats(name, [], [value]));

    protected NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = OnnxModels.Node(op, $"{op}_{Graph.Node.Count}", inputs, outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return node;
    }

    protected static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    protected static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    protected static AttributeProto Ints(string name, long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>Allowed [batch, 1, sequence, total]: key slot j is visible to query t when j ≤ past + t and attention_mask[j] is 1.</summary>
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
        Node("And", ["m_causal", "m_pad_b11t"], [Allowed]);
    }

    /// <summary>logits = hidden · Wᵀ through Gemm(transB), so a tied embedding is stored once, not twice.</summary>
    private void Head(string hidden)
    {
        var head = _w.Tensors.ContainsKey("lm_head.weight") ? "lm_head.weight" : TiedEmbedding;
        if (head == "lm_head.weight")
        {
            Initializer(head);
        }

        Node("Reshape", [hidden, "c_shape_nc"], ["head_in_2d"]);
        Node("Gemm", ["head_in_2d", head], ["logits_2d"], Int("transB", 1));
        Node("Shape", [InputIds], ["ids_shape"]);
        Node("Concat", ["ids_shape", "c_vocab"], ["logits_shape"], Int("axis", 0));
        Node("Reshape", ["logits_2d", "logits_shape"], [Logits]);
    }

    /// <summary>A checkpoint weight as a float32 initializer, or as a float16 initializer <c>{name}.fp16</c> cast to float32 under <paramref name="name"/>.</summary>
    private void Weight(string name, long[] shape, float[] values)
    {
        if (!Float16Weights)
        {
            Graph.Initializer.Add(OnnxTensors.Floats(name, shape, values));
            return;
        }

        var half = new Half[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            half[i] = (Half)values[i];
        }

        Graph.Initializer.Add(OnnxTensors.Float16s(name + ".fp16", shape, half));
        Node("Cast", [name + ".fp16"], [name], Int("to", (long)TensorProto.Types.DataType.Float));
    }

    private void AddInput(string name, TensorProto.Types.DataType type, params object[] dims) => Graph.Input.Add(Value(name, type, dims));

    private void AddOutput(string name, params object[] dims) => Graph.Output.Add(Value(name, TensorProto.Types.DataType.Float, dims));

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
}
