using System.Globalization;
using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace LlmAdapt.Onnx.Embeddings;

/// <summary>
/// Features from several layers (<see cref="OnnxEmbeddingOptions.PooledLayers"/>) and mean + max pooling
/// (<see cref="EmbeddingPooling.MeanMax"/>): the output buffers, the pooling and the model id that records them.
/// </summary>
internal static class LayerPooling
{
    /// <summary>
    /// The model id of features pooled from <paramref name="layers"/> layers by <paramref name="pooling"/>:
    /// <paramref name="modelId"/> itself for the plain sentence embedding (one layer, mean or CLS), else
    /// <c>{modelId}#layers={layers};pooling={mean|cls|mean-max};normalize={true|false}</c>.
    /// </summary>
    public static string ModelId(string modelId, int layers, EmbeddingPooling pooling, bool normalize)
        => layers <= 1 && pooling != EmbeddingPooling.MeanMax
            ? modelId
            : string.Create(CultureInfo.InvariantCulture, $"{modelId}#layers={layers};pooling={Name(pooling)};normalize={(normalize ? "true" : "false")}");

    /// <summary>The name of a pooling in model ids and on the command line: <c>mean</c>, <c>cls</c> or <c>mean-max</c>.</summary>
    public static string Name(EmbeddingPooling pooling) => pooling switch
    {
        EmbeddingPooling.Cls => "cls",
        EmbeddingPooling.MeanMax => "mean-max",
        _ => "mean",
    };

    /// <summary>The pooling a name from <see cref="Name"/> stands for, or <see langword="null"/> for any other text.</summary>
    public static EmbeddingPooling? Parse(string name) => name switch
    {
        "mean" => EmbeddingPooling.Mean,
        "cls" => EmbeddingPooling.Cls,
        "mean-max" => EmbeddingPooling.MeanMax,
        _ => null,
    };

    /// <summary>
    /// Reads back what <see cref="ModelId"/> recorded: <see langword="false"/> when <paramref name="modelId"/> has no
    /// <c>#…</c> end; parts that are missing or not understood keep 1 layer, <see langword="null"/> pooling and normalisation.
    /// </summary>
    public static bool TryParseModelId(string modelId, out int layers, out EmbeddingPooling? pooling, out bool? normalize)
    {
        layers = 1;
        pooling = null;
        normalize = null;
        var hash = modelId.LastIndexOf('#');
        if (hash < 0)
        {
            return false;
        }

        foreach (var part in modelId[(hash + 1)..].Split(';'))
        {
            var pair = part.Split('=', 2);
            if (pair.Length != 2)
            {
                continue;
            }

            switch (pair[0])
            {
                case "layers" when int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n):
                    layers = n;
                    break;
                case "pooling":
                    pooling = Parse(pair[1]) ?? pooling;
                    break;
                case "normalize" when pair[1] is "true" or "false":
                    normalize = pair[1] == "true";
                    break;
            }
        }

        return true;
    }

    /// <summary>Reads a model file, naming it when it cannot be read.</summary>
    public static byte[] ReadModel(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(path, $"cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>One output tensor per layer over consecutive slices of <paramref name="buffer"/>, each <paramref name="cells"/> × hidden.</summary>
    public static OutputSet Outputs(float[] buffer, int cells, long[] shape, int layers)
    {
        var size = cells * (int)shape[2];
        var values = new OrtValue[layers];
        for (var l = 0; l < layers; l++)
        {
            values[l] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(l * size, size), shape);
        }

        return new OutputSet(values);
    }

    /// <summary>
    /// Pools one text: for each layer (its states at <c>l × <paramref name="layerStride"/> + <paramref name="offset"/></c>,
    /// <paramref name="length"/> tokens of <paramref name="hidden"/>), the mean, the first token or the mean and the max,
    /// each part scaled to unit length when <paramref name="normalize"/> is set; the parts side by side, oldest layer first.
    /// </summary>
    public static float[] Pool(ReadOnlySpan<float> states, int layerStride, int layers, int offset, int length, int hidden, EmbeddingPooling pooling, bool normalize)
    {
        var parts = pooling == EmbeddingPooling.MeanMax ? 2 : 1;
        var vector = new float[layers * parts * hidden];
        for (var l = 0; l < layers; l++)
        {
            var rows = states.Slice((l * layerStride) + offset, length * hidden);
            var first = vector.AsSpan(l * parts * hidden, hidden);
            rows[..hidden].CopyTo(first);
            if (pooling != EmbeddingPooling.Cls)
            {
                for (var t = 1; t < length; t++)
                {
                    TensorPrimitives.Add(first, rows.Slice(t * hidden, hidden), first);
                }

                TensorPrimitives.Multiply(first, 1f / length, first);
            }

            if (pooling == EmbeddingPooling.MeanMax)
            {
                var max = vector.AsSpan((l * parts * hidden) + hidden, hidden);
                rows[..hidden].CopyTo(max);
                for (var t = 1; t < length; t++)
                {
                    TensorPrimitives.Max(max, rows.Slice(t * hidden, hidden), max);
                }
            }

            if (normalize)
            {
                for (var p = 0; p < parts; p++)
                {
                    // The same floor as torch.nn.functional.normalize, so an all-zero part stays zero instead of NaN.
                    var part = vector.AsSpan(((l * parts) + p) * hidden, hidden);
                    TensorPrimitives.Multiply(part, 1f / MathF.Max(TensorPrimitives.Norm(part), 1e-12f), part);
                }
            }
        }

        return vector;
    }

    /// <summary>The output tensors of one batch; disposing them frees the native views (not the buffer).</summary>
    public sealed class OutputSet(OrtValue[] values) : IDisposable
    {
        public OrtValue[] Values { get; } = values;

        public void Dispose()
        {
            foreach (var value in Values)
            {
                value.Dispose();
            }
        }
    }
}
