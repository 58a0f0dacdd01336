using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>Runs an exported decoder step by step through a plain ONNX Runtime session, feeding and returning the KV cache.</summary>
internal sealed class ExportedSession : IDisposable
{
    private readonly InferenceSession _session;

    public ExportedSession(string folder, int layers, int heads, int headSize, int vocab)
    {
        _session = new InferenceSession(Path.Combine(folder, "model.onnx"));
        Layers = layers;
        Heads = heads;
        HeadSize = headSize;
        Vocab = vocab;
    }

    public int Layers { get; }

    public int Heads { get; }

    public int HeadSize { get; }

    public int Vocab { get; }

    /// <summary>
    /// One step: ids and positions [batch, seq], mask [batch, past + seq]; returns logits [batch, seq, vocab] and the
    /// presents. An ONNX Runtime LoRA adapter, when given, is activated for the run (graphs exported with the adapter
    /// kept separate).
    /// </summary>
    public (float[] Logits, float[][] Presents, int Total) Step(long[] ids, long[] positions, long[] mask, int batch, float[][]? past, int pastLength, OrtLoraAdapter? adapter = null)
    {
        var seq = ids.Length / batch;
        var total = pastLength + seq;
        var names = new List<string> { "input_ids", "attention_mask", "position_ids" };
        var values = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(ids, [batch, seq]),
            OrtValue.CreateTensorValueFromMemory(mask, [batch, total]),
            OrtValue.CreateTensorValueFromMemory(positions, [batch, seq]),
        };
        long[] pastShape = [batch, Heads, pastLength, HeadSize];
        for (var i = 0; i < 2 * Layers; i++)
        {
            names.Add($"past_key_values.{i / 2}.{(i % 2 == 0 ? "key" : "value")}");
            values.Add(pastLength == 0
                ? OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, pastShape)
                : OrtValue.CreateTensorValueFromMemory(past![i], pastShape));
        }

        var outputNames = new List<string> { "logits" };
        for (var i = 0; i < 2 * Layers; i++)
        {
            outputNames.Add($"present.{i / 2}.{(i % 2 == 0 ? "key" : "value")}");
        }

        try
        {
            using var runOptions = new RunOptions();
            if (adapter is not null)
            {
                runOptions.AddActiveLoraAdapter(adapter);
            }

            using var outputs = _session.Run(runOptions, names, values, outputNames);
            var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.Equal([batch, seq, Vocab], outputs[0].GetTensorTypeAndShape().Shape);
            var presents = new float[2 * Layers][];
            for (var i = 0; i < presents.Length; i++)
            {
                Assert.Equal([batch, Heads, total, HeadSize], outputs[1 + i].GetTensorTypeAndShape().Shape);
                presents[i] = outputs[1 + i].GetTensorDataAsSpan<float>().ToArray();
            }

            return (logits, presents, total);
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    public void Dispose() => _session.Dispose();
}
