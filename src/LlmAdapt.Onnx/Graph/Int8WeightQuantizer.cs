using Onnx;

namespace LlmAdapt.Onnx.Graph;

/// <summary>
/// Rewrites a float model so its weight matrix products run on ONNX Runtime's integer kernels: every
/// <c>MatMul(X, W)</c> whose <c>W</c> is a 2-D float initializer becomes <c>com.microsoft.DynamicQuantizeMatMul</c>
/// with <c>W</c> stored as int8 (symmetric, one scale per output column) and <c>X</c> quantized to uint8 on the fly,
/// per call. A following <c>Add</c> of a 1-D bias initializer is folded into the same node.
/// </summary>
/// <remarks>
/// Per-column scales keep a column with small weights from losing its precision to a column with large ones; zero
/// points of 0 keep the weights symmetric, so no correction term is needed for them.
/// </remarks>
internal static class Int8WeightQuantizer
{
    /// <summary>Changes whenever the rewrite changes, so cached models made by an older rule are rebuilt.</summary>
    public const string Version = "1";

    /// <summary>Matrices smaller than this stay float: their integer kernels would save less than the quantization of X costs.</summary>
    public const int DefaultMinimumElements = 16 * 1024;

    /// <summary>Rewrites <paramref name="model"/> in place and says what changed.</summary>
    /// <param name="model">A float model; initializers must be inside the file.</param>
    /// <param name="minimumElements">The smallest weight matrix (K × N) to quantize.</param>
    /// <returns>How many products were quantized and biases folded.</returns>
    public static Int8QuantizationReport Quantize(ModelProto model, int minimumElements = DefaultMinimumElements)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input)
            {
                uses[input] = uses.GetValueOrDefault(input) + 1;
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }

                list.Add(node);
            }
        }

        var folded = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var rewritten = new List<NodeProto>(graph.Node.Count);
        var added = new List<TensorProto>();
        int quantized = 0, biases = 0;
        long floatBytes = 0, intBytes = 0;
        foreach (var node in graph.Node)
        {
            if (folded.Contains(node))
            {
                continue;
            }

            if (node.OpType != "MatMul" || node.Domain.Length != 0 || node.Input.Count != 2
                || !initializers.TryGetValue(node.Input[1], out var weight)
                || weight.Dims.Count != 2 || weight.DataType != (int)TensorProto.Types.DataType.Float
                || OnnxTensors.ElementCount(weight) < minimumElements)
            {
                rewritten.Add(node);
                continue;
            }

            var rows = (int)weight.Dims[0];
            var columns = (int)weight.Dims[1];
            var values = OnnxTensors.ReadFloats(weight);
            var (q, scales) = QuantizePerColumn(values, rows, columns);
            var baseName = $"{weight.Name}_int8_{quantized}";
            added.Add(OnnxTensors.Int8(baseName, [rows, columns], q));
            added.Add(OnnxTensors.Floats(baseName + "_scale", [columns], scales));
            floatBytes += values.Length * sizeof(float);
            intBytes += q.Length + (scales.Length * sizeof(float));

            var output = node.Output[0];
            var bias = string.Empty;
            if (!graphOutputs.Contains(output) && consumers.TryGetValue(output, out var next) && next.Count == 1
                && next[0] is { OpType: "Add", Domain.Length: 0, Input.Count: 2 } add)
            {
                var other = add.Input[0] == output ? add.Input[1] : add.Input[0];
                if (initializers.TryGetValue(other, out var b) && b.Dims.Count == 1 && b.Dims[0] == columns
                    && b.DataType == (int)TensorProto.Types.DataType.Float)
                {
                    bias = other;
                    output = add.Output[0];
                    folded.Add(add);
                    biases++;
                }
            }

            string[] inputs = bias.Length == 0
                ? [node.Input[0], baseName, baseName + "_scale"]
                : [node.Input[0], baseName, baseName + "_scale", string.Empty, bias];
            rewritten.Add(OnnxModels.Node("DynamicQuantizeMatMul", $"{(node.Name.Length > 0 ? node.Name : baseName)}_int8", inputs, [output], OnnxModels.MicrosoftDomain));
            quantized++;
            if (--uses[weight.Name] == 0)
            {
                graph.Initializer.Remove(weight);
                var asInput = graph.Input.FirstOrDefault(i => i.Name == weight.Name);
                if (asInput is not null)
                {
                    graph.Input.Remove(asInput);
                }
            }
        }

        graph.Node.Clear();
        graph.Node.AddRange(rewritten);
        graph.Initializer.AddRange(added);
        if (quantized > 0)
        {
            OnnxModels.RequireOpset(model, OnnxModels.MicrosoftDomain, 1);
        }

        return new Int8QuantizationReport(quantized, biases, floatBytes, intBytes);
    }

    /// <summary>Symmetric int8 per column: scale = max |w| / 127, q = round(w / scale) in [-127, 127].</summary>
    internal static (sbyte[] Values, float[] Scales) QuantizePerColumn(ReadOnlySpan<float> weights, int rows, int columns)
    {
        var scales = new float[columns];
        for (var r = 0; r < rows; r++)
        {
            var row = weights.Slice(r * columns, columns);
            for (var c = 0; c < columns; c++)
            {
                scales[c] = MathF.Max(scales[c], MathF.Abs(row[c]));
            }
        }

        for (var c = 0; c < columns; c++)
        {
            // An all-zero column keeps scale 1 so nothing divides by zero; its values quantize to 0 either way.
            scales[c] = scales[c] > 0 ? scales[c] / 127f : 1f;
        }

        var q = new sbyte[weights.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                var v = MathF.Round(weights[(r * columns) + c] / scales[c], MidpointRounding.ToEven);
                q[(r * columns) + c] = (sbyte)Math.Clamp(v, -127f, 127f);
            }
        }

        return (q, scales);
    }
}
