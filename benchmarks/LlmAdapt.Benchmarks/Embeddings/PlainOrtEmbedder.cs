using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Benchmarks.Embeddings;

/// <summary>
/// The second baseline: the loop a developer writes with ONNX Runtime and Microsoft.ML.Tokenizers directly.
/// Texts in input order, fixed batches of 32 padded to their longest text, cut at 256 tokens, mean pooling,
/// L2 normalisation; the session tuned as ours is (all graph optimisations, one intra-op thread per core).
/// </summary>
internal sealed class PlainOrtEmbedder : IDisposable
{
    private const int BatchSize = 32;
    private const int MaxTokens = 256;
    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;

    public PlainOrtEmbedder(byte[] model, Stream vocab)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = Environment.ProcessorCount,
        };
        _session = new InferenceSession(model, options);
        _tokenizer = BertTokenizer.Create(vocab);
    }

    public float[][] Embed(IReadOnlyList<string> texts)
    {
        var result = new float[texts.Count][];
        for (var start = 0; start < texts.Count; start += BatchSize)
        {
            var count = Math.Min(BatchSize, texts.Count - start);
            var ids = new IReadOnlyList<int>[count];
            var sequence = 0;
            for (var i = 0; i < count; i++)
            {
                ids[i] = _tokenizer.EncodeToIds(texts[start + i], MaxTokens, out _, out _);
                sequence = Math.Max(sequence, ids[i].Count);
            }

            var inputIds = new long[count * sequence];
            var mask = new long[count * sequence];
            var types = new long[count * sequence];
            for (var i = 0; i < count; i++)
            {
                for (var t = 0; t < ids[i].Count; t++)
                {
                    inputIds[i * sequence + t] = ids[i][t];
                    mask[i * sequence + t] = 1;
                }
            }

            long[] shape = [count, sequence];
            using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
            using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [idsValue, maskValue, typesValue], ["last_hidden_state"]);
            var hiddenStates = outputs[0].GetTensorDataAsSpan<float>();
            var hidden = hiddenStates.Length / (count * sequence);
            for (var i = 0; i < count; i++)
            {
                var vector = new float[hidden];
                for (var t = 0; t < ids[i].Count; t++)
                {
                    TensorPrimitives.Add(vector, hiddenStates.Slice((i * sequence + t) * hidden, hidden), vector);
                }

                TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);
                result[start + i] = vector;
            }
        }

        return result;
    }

    public void Dispose() => _session.Dispose();
}
