using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;
using Onnx;

namespace LlmAdapt.Onnx.Graph;

/// <summary>
/// Rewrites a float model so its weight matrix products run on ONNX Runtime's integer kernels: every
/// <c>MatMul(X, W)</c> whose <c>W</c> is a 2-D float initializer gets <c>W</c> stored as int8 (symmetric, one scale
/// per output column) and <c>X</c> quantized to uint8 on the fly, per call, as <see cref="Int8ActivationQuantization"/>
/// says. A following <c>Add</c> of a 1-D bias initializer is folded into the rewrite.
/// </summary>
/// <remarks>
/// Per-column scales keep a column with small weights from losing its precision to a column with large ones; zero
/// points of 0 keep the weights symmetric, so no correction term is needed for them. With
/// <see cref="Int8ActivationQuantization.PerRow"/> the quantization of one input is shared by every product that
/// reads it (query, key and value read the same hidden states).
/// </remarks>
internal static class Int8WeightQuantizer
{
    /// <summary>Changes whenever the rewrite changes, so cached models made by an older rule are rebuilt.</summary>
    public const string Version = "4";

    /// <summary>Matrices smaller than this stay float: their integer kernels would save less than the quantization of X costs.</summary>
    public const int DefaultMinimumElements = 16 * 1024;

    /// <summary>SmoothQuant's α: the share of an input channel's range moved into the weights.</summary>
    public const float DefaultSmoothing = 0.6f;

    /// <summary>An input is shifted when its most negative value is smaller than this share of its largest |value|.</summary>
    private const float ShiftLimit = 0.05f;

    /// <summary>The shift is this multiple of the most negative value calibration saw, so slightly lower values still fit.</summary>
    private const float ShiftMargin = 1.5f;

    /// <summary>Rewrites <paramref name="model"/> in place and says what changed.</summary>
    /// <param name="model">A float model; initializers must be inside the file.</param>
    /// <param name="activations">How inputs are quantized at run time.</param>
    /// <param name="minimumElements">The smallest weight matrix (K × N) to quantize.</param>
    /// <param name="keepFloat">Products (by node) to leave in float, or <see langword="null"/> for none.</param>
    /// <param name="calibration">
    /// What calibration saw of each product's input, by input name (see <see cref="QuantizableInputs"/>; used by
    /// per-row quantization, and in <c>Mixed</c> mode also for the layer-norm inputs quantized per tensor). Such an input's channels are smoothed before quantization, and an input that
    /// is (almost) never negative, such as GELU's output, is shifted to be non-negative and quantized asymmetrically.
    /// </param>
    /// <param name="smoothing">How much of a channel's range moves into the weights, from 0 (none) to 1 (all).</param>
    /// <returns>How many products were quantized and biases folded.</returns>
    public static Int8QuantizationReport Quantize(
        ModelProto model,
        Int8ActivationQuantization activations = Int8ActivationQuantization.Mixed,
        int minimumElements = DefaultMinimumElements,
        Func<NodeProto, bool>? keepFloat = null,
        IReadOnlyDictionary<string, ActivationRange>? calibration = null,
        float smoothing = DefaultSmoothing)
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

        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                producers[output] = node;
            }
        }

        var smoothingFactors = calibration is not null
            ? SmoothingFactors(graph, initializers, minimumElements, keepFloat, calibration, smoothing)
            : [];
        if (activations == Int8ActivationQuantization.Mixed)
        {
            // Smoothing costs a pass over the input. It pays for a layer norm's output (whose few outlier channels would
            // otherwise set the one step of the whole tensor) and where the input is shifted (GELU); the attention
            // context, quantized per tensor without it, lost nothing measurable (min cosine to fp32 on 300 Cranfield
            // abstracts 0.9982 either way) and ran 5–6% faster.
            foreach (var (input, factors) in smoothingFactors.ToList())
            {
                if (factors.Shift is null && !IsLayerNormOutput(input, producers, initializers))
                {
                    smoothingFactors.Remove(input);
                }
            }
        }
        var folded = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var rewritten = new List<NodeProto>(graph.Node.Count);
        var added = new List<TensorProto>();
        var rowQuantized = new Dictionary<string, RowQuantizedInput>(StringComparer.Ordinal);
        var smoothedInputs = new Dictionary<string, string>(StringComparer.Ordinal);
        int quantized = 0, biases = 0;
        var usedPerRow = false;
        long floatBytes = 0, intBytes = 0;
        foreach (var node in graph.Node)
        {
            if (folded.Contains(node))
            {
                continue;
            }

            if (!IsQuantizable(node, initializers, minimumElements, keepFloat, out var weight))
            {
                rewritten.Add(node);
                continue;
            }

            var rows = (int)weight.Dims[0];
            var columns = (int)weight.Dims[1];
            var values = OnnxTensors.ReadFloats(weight);
            if (smoothingFactors.TryGetValue(node.Input[0], out var factors))
            {
                // X · W = (X / s) · (s W): row k of W takes the factor its input channel k gave up.
                for (var r = 0; r < rows; r++)
                {
                    var row = values.AsSpan(r * columns, columns);
                    TensorPrimitives.Multiply(row, factors.Factors[r], row);
                }
            }

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

            var nodeName = node.Name.Length > 0 ? node.Name : baseName;
            var scheme = SchemeOf(node.Input[0], activations, producers, initializers, calibration is not null, smoothingFactors.GetValueOrDefault(node.Input[0])?.Shift is not null);
            usedPerRow |= scheme == Int8ActivationQuantization.PerRow;
            if (scheme == Int8ActivationQuantization.PerTensor)
            {
                var x = node.Input[0];
                if (smoothingFactors.TryGetValue(x, out var smooth))
                {
                    if (!smoothedInputs.TryGetValue(x, out var smoothedName))
                    {
                        smoothedInputs[x] = smoothedName = $"{x}_smoothed{smoothedInputs.Count}";
                        added.Add(OnnxTensors.Floats(smoothedName + "_factors", [smooth.Inverses.Length], smooth.Inverses));
                        rewritten.Add(OnnxModels.Node("Mul", smoothedName, [x, smoothedName + "_factors"], [smoothedName]));
                    }

                    x = smoothedName;
                }

                string[] inputs = bias.Length == 0
                    ? [x, baseName, baseName + "_scale"]
                    : [x, baseName, baseName + "_scale", string.Empty, bias];
                rewritten.Add(OnnxModels.Node("DynamicQuantizeMatMul", $"{nodeName}_int8", inputs, [output], OnnxModels.MicrosoftDomain));
            }
            else
            {
                if (!rowQuantized.TryGetValue(node.Input[0], out var input))
                {
                    rowQuantized[node.Input[0]] = input = QuantizeRows(node.Input[0], rowQuantized.Count, smoothingFactors.GetValueOrDefault(node.Input[0]), rewritten, added);
                }

                if (input.Shift is { } shift)
                {
                    // The integer product saw X + c (c_k = shift / s_k after smoothing): take c · W back out through the bias.
                    var correction = new float[columns];
                    for (var r = 0; r < rows; r++)
                    {
                        var c = shift[r];
                        for (var j = 0; j < columns; j++)
                        {
                            correction[j] += c * q[(r * columns) + j];
                        }
                    }

                    var biasValues = bias.Length > 0 ? OnnxTensors.ReadFloats(initializers[bias]) : new float[columns];
                    var shiftedBias = new float[columns];
                    for (var j = 0; j < columns; j++)
                    {
                        shiftedBias[j] = biasValues[j] - (correction[j] * scales[j]);
                    }

                    bias = baseName + "_shifted_bias";
                    added.Add(OnnxTensors.Floats(bias, [columns], shiftedBias));
                }

                EmitRowProduct(input, baseName, bias, output, nodeName, rewritten);
            }

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

        // Biases replaced by shifted copies are read by nothing now.
        var read = graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var unused in graph.Initializer.Where(t => !read.Contains(t.Name)).ToList())
        {
            graph.Initializer.Remove(unused);
            var asInput = graph.Input.FirstOrDefault(i => i.Name == unused.Name);
            if (asInput is not null)
            {
                graph.Input.Remove(asInput);
            }
        }
        if (quantized > 0)
        {
            // DynamicQuantizeMatMul and MatMulIntegerToFloat are ONNX Runtime's (com.microsoft).
            OnnxModels.RequireOpset(model, OnnxModels.MicrosoftDomain, 1);
            if (usedPerRow)
            {
                // QuantizeLinear with a uint8 zero point and ReduceMax with keepdims need operator set 13.
                OnnxModels.RequireOpset(model, string.Empty, 13);
            }
        }

        return new Int8QuantizationReport(quantized, biases, floatBytes, intBytes);
    }
    /// <summary>The distinct inputs (X) of the products <see cref="Quantize"/> would rewrite, in graph order.</summary>
    public static IReadOnlyList<string> QuantizableInputs(ModelProto model, int minimumElements = DefaultMinimumElements)
    {
        ArgumentNullException.ThrowIfNull(model);
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        return model.Graph.Node.Where(n => IsQuantizable(n, initializers, minimumElements, null, out _)).Select(n => n.Input[0]).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The activation scheme of one input: <paramref name="activations"/>, resolved for
    /// <see cref="Int8ActivationQuantization.Mixed"/>: per row for a shifted input (calibration found it almost never
    /// negative: GELU's output) and, without calibration, for any input that is not a layer normalization's output;
    /// per tensor for the rest.
    /// </summary>
    private static Int8ActivationQuantization SchemeOf(string input, Int8ActivationQuantization activations, Dictionary<string, NodeProto> producers, Dictionary<string, TensorProto> initializers, bool calibrated, bool shifted) =>
        activations != Int8ActivationQuantization.Mixed ? activations
        : shifted ? Int8ActivationQuantization.PerRow
        : calibrated || IsLayerNormOutput(input, producers, initializers) ? Int8ActivationQuantization.PerTensor
        : Int8ActivationQuantization.PerRow;

    /// <summary>
    /// Whether <paramref name="name"/> is a layer normalization's output: a <c>LayerNormalization</c> (or ONNX Runtime's
    /// fused <c>SkipLayerNormalization</c>) node, or the exported pattern <c>Add(Mul(Div(…), γ), β)</c> with γ and β initializers.
    /// </summary>
    private static bool IsLayerNormOutput(string name, Dictionary<string, NodeProto> producers, Dictionary<string, TensorProto> initializers)
    {
        if (!producers.TryGetValue(name, out var node))
        {
            return false;
        }

        if (node.OpType is "LayerNormalization" or "SkipLayerNormalization" or "SimplifiedLayerNormalization")
        {
            return node.Output[0] == name;
        }

        static string? Other(NodeProto n, Dictionary<string, TensorProto> initializers) =>
            n.Input.Count == 2 && initializers.ContainsKey(n.Input[1]) ? n.Input[0]
            : n.Input.Count == 2 && initializers.ContainsKey(n.Input[0]) ? n.Input[1]
            : null;

        return node.OpType == "Add" && Other(node, initializers) is { } scaled
            && producers.TryGetValue(scaled, out var mul) && mul.OpType == "Mul" && Other(mul, initializers) is { } normalized
            && producers.TryGetValue(normalized, out var div) && div.OpType == "Div";
    }

    private static bool IsQuantizable(NodeProto node, Dictionary<string, TensorProto> initializers, int minimumElements, Func<NodeProto, bool>? keepFloat, [NotNullWhen(true)] out TensorProto? weight)
    {
        weight = null;
        return node.OpType == "MatMul" && node.Domain.Length == 0 && node.Input.Count == 2
            && initializers.TryGetValue(node.Input[1], out weight)
            && weight.Dims.Count == 2 && weight.DataType == (int)TensorProto.Types.DataType.Float
            && OnnxTensors.ElementCount(weight) >= minimumElements
            && !(keepFloat?.Invoke(node) ?? false);
    }

    /// <summary>
    /// SmoothQuant's per-channel factors for each calibrated input: s_k = max|X_k|^α / max|W_k|^(1−α), where max|W_k| is
    /// over row k of every weight that reads X. Dividing X's channel k by s_k and multiplying row k of each W by it
    /// leaves the product unchanged but shrinks the few outlier channels (BERT has some 15× the median) that would
    /// otherwise set each token's quantization step.
    /// </summary>
    private static Dictionary<string, Smoothing> SmoothingFactors(GraphProto graph, Dictionary<string, TensorProto> initializers, int minimumElements, Func<NodeProto, bool>? keepFloat, IReadOnlyDictionary<string, ActivationRange> calibration, float alpha)
    {
        var weightMaxima = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (!IsQuantizable(node, initializers, minimumElements, keepFloat, out var weight) || !calibration.TryGetValue(node.Input[0], out var range))
            {
                continue;
            }

            var rows = (int)weight.Dims[0];
            var columns = (int)weight.Dims[1];
            if (range.ChannelAbsMax.Length != rows)
            {
                throw new LlmAdaptException($"calibration of '{node.Input[0]}' has {range.ChannelAbsMax.Length} channels; weight '{weight.Name}' has {rows} rows.");
            }

            if (!weightMaxima.TryGetValue(node.Input[0], out var wMax))
            {
                weightMaxima[node.Input[0]] = wMax = new float[rows];
            }

            var values = OnnxTensors.ReadFloats(weight);
            for (var r = 0; r < rows; r++)
            {
                wMax[r] = MathF.Max(wMax[r], MathF.Abs(TensorPrimitives.MaxMagnitude(values.AsSpan(r * columns, columns))));
            }
        }

        var result = new Dictionary<string, Smoothing>(StringComparer.Ordinal);
        foreach (var (input, wMax) in weightMaxima)
        {
            var range = calibration[input];
            var xMax = range.ChannelAbsMax;
            var factors = new float[wMax.Length];
            for (var k = 0; k < factors.Length; k++)
            {
                var f = MathF.Pow(MathF.Max(xMax[k], 1e-5f), alpha) / MathF.Pow(MathF.Max(wMax[k], 1e-5f), 1 - alpha);
                factors[k] = float.IsFinite(f) && f > 0 ? f : 1f;
            }

            // An input that stays above a small negative floor (GELU's output is never below −0.17) wastes half of a
            // symmetric range; shifted by that floor (with a margin) it spends all 256 steps on the values it has.
            float[]? shift = null;
            if (range.Minimum <= 0 && -range.Minimum < ShiftLimit * xMax.Max())
            {
                var floor = MathF.Max(-range.Minimum * ShiftMargin, 1e-6f);
                shift = [.. factors.Select(f => floor / f)];
            }

            result[input] = new Smoothing(factors, [.. factors.Select(f => 1f / f)], shift);
        }

        return result;
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

    /// <summary>
    /// Adds the nodes that quantize <paramref name="x"/> row by row (a row is the last axis: one token's features):
    /// scale = max |row| / 127, at least a tiny floor so an all-zero row divides by nothing; uint8 = round(x / scale) + 128,
    /// the last step by a per-tensor <c>QuantizeLinear</c> with scale 1 and zero point 128. An input with a calibrated
    /// shift (<paramref name="smoothing"/>) is first made non-negative and quantized with all 255 levels and zero point 0. Every node keeps X's rank,
    /// so shapes stay inferable through the rewrite (the model's output keeps its fixed hidden size).
    /// </summary>
    private static RowQuantizedInput QuantizeRows(string x, int index, Smoothing? smoothing, List<NodeProto> nodes, List<TensorProto> added)
    {
        var p = $"{x}_rowq{index}";
        if (smoothing is not null)
        {
            added.Add(OnnxTensors.Floats(p + "_smooth", [smoothing.Inverses.Length], smoothing.Inverses));
            nodes.Add(OnnxModels.Node("Mul", p + "_smoothed", [x, p + "_smooth"], [p + "_smoothed"]));
            x = p + "_smoothed";
        }

        var shifted = smoothing?.Shift is not null;
        var levels = shifted ? 255f : 127f;
        added.Add(OnnxTensors.Floats(p + "_levels", [], [levels]));
        added.Add(OnnxTensors.Floats(p + "_floor", [], [1e-30f]));
        added.Add(OnnxTensors.Floats(p + "_one", [], [1f]));
        added.Add(OnnxTensors.UInt8(p + "_zp", [], [shifted ? (byte)0 : (byte)128]));
        string magnitude;
        if (shifted)
        {
            added.Add(OnnxTensors.Floats(p + "_shift", [smoothing!.Shift!.Length], smoothing.Shift));
            nodes.Add(OnnxModels.Node("Add", p + "_shifted", [x, p + "_shift"], [p + "_shifted"]));
            x = magnitude = p + "_shifted";
        }
        else
        {
            nodes.Add(OnnxModels.Node("Abs", p + "_abs", [x], [p + "_abs"]));
            magnitude = p + "_abs";
        }

        var max = OnnxModels.Node("ReduceMax", p + "_max", [magnitude], [p + "_max"]);
        max.Attribute.Add(new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints, Ints = { -1 } });
        max.Attribute.Add(IntAttribute("keepdims", 1));
        nodes.Add(max);
        nodes.Add(OnnxModels.Node("Max", p + "_safe", [p + "_max", p + "_floor"], [p + "_safe"]));
        nodes.Add(OnnxModels.Node("Div", p + "_inverse", [p + "_levels", p + "_safe"], [p + "_inverse"]));
        nodes.Add(OnnxModels.Node("Div", p + "_scale", [p + "_safe", p + "_levels"], [p + "_scale"]));
        nodes.Add(OnnxModels.Node("Mul", p + "_steps", [x, p + "_inverse"], [p + "_steps"]));
        nodes.Add(OnnxModels.Node("QuantizeLinear", p + "_u8", [p + "_steps", p + "_one", p + "_zp"], [p + "_u8"]));
        return new RowQuantizedInput(p + "_u8", p + "_scale", p + "_zp", p + "_one", smoothing?.Shift);
    }

    /// <summary>
    /// Adds the integer product and the float rescaling for one row-quantized input: ONNX Runtime's
    /// <c>com.microsoft.MatMulIntegerToFloat</c> (uint8 × int8 with the column scales applied as the int32 sums leave the
    /// kernel; its A scale is the constant 1, since one scale per tensor is all it takes), then the row scales and the bias.
    /// </summary>
    /// <remarks>
    /// Version 3 used <c>MatMulInteger</c> and a per-axis <c>DequantizeLinear</c>, an extra pass over the int32 product
    /// that cost 4–6% of the int8 model's time. The row scales must stay a separate <c>Mul</c>: the kernel's A scale is
    /// one number, and ONNX Runtime's own fusion into this node would read a per-row scale as that one number.
    /// </remarks>
    private static void EmitRowProduct(RowQuantizedInput input, string weight, string bias, string output, string name, List<NodeProto> nodes)
    {
        var p = $"{name}_int8";
        nodes.Add(OnnxModels.Node("MatMulIntegerToFloat", p + "_cols", [input.Values, weight, input.One, weight + "_scale", input.ZeroPoint], [p + "_cols"], OnnxModels.MicrosoftDomain));
        nodes.Add(OnnxModels.Node("Mul", p + "_rows", [p + "_cols", input.Scales], [bias.Length > 0 ? p + "_rows" : output]));
        if (bias.Length > 0)
        {
            nodes.Add(OnnxModels.Node("Add", p + "_bias", [p + "_rows", bias], [output]));
        }
    }

    private static AttributeProto IntAttribute(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>Per-channel smoothing of one input: X's channel k is multiplied by <c>Inverses[k]</c>, row k of W by <c>Factors[k]</c>.</summary>
    /// <param name="Factors">s_k, multiplied into row k of every weight that reads the input.</param>
    /// <param name="Inverses">1 / s_k, multiplied into channel k of the input.</param>
    /// <param name="Shift">c_k added to the smoothed input's channel k so it is never negative, or <see langword="null"/> for a symmetric input.</param>
    private sealed record Smoothing(float[] Factors, float[] Inverses, float[]? Shift);

    /// <summary>The names of a row-quantized input: uint8 values (X's shape), row scales (X's shape with a last dim of 1), the zero point, the scalar 1.</summary>
    private sealed record RowQuantizedInput(string Values, string Scales, string ZeroPoint, string One, float[]? Shift);
}
