using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace LlmAdapt.Onnx.Graph;

/// <summary>Reading and making ONNX initializers (<see cref="TensorProto"/>), always little-endian <c>raw_data</c> when written.</summary>
internal static class OnnxTensors
{
    /// <summary>Reads a float tensor's values, from <c>raw_data</c> or <c>float_data</c>.</summary>
    /// <exception cref="LlmAdaptException">The tensor is not float, or keeps its data outside the file.</exception>
    public static float[] ReadFloats(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
        {
            throw new LlmAdaptException($"tensor '{tensor.Name}' is {(TensorProto.Types.DataType)tensor.DataType}, not float.");
        }

        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new LlmAdaptException($"tensor '{tensor.Name}' keeps its data in an external file; only single-file models can be rewritten.");
        }

        var count = ElementCount(tensor);
        if (!tensor.RawData.IsEmpty)
        {
            if (tensor.RawData.Length != count * sizeof(float))
            {
                throw new LlmAdaptException($"tensor '{tensor.Name}' has {tensor.RawData.Length} bytes of data for {count} floats.");
            }

            return MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
        }

        if (tensor.FloatData.Count != count)
        {
            throw new LlmAdaptException($"tensor '{tensor.Name}' has {tensor.FloatData.Count} floats for shape [{string.Join(", ", tensor.Dims)}].");
        }

        return [.. tensor.FloatData];
    }

    /// <summary>The number of elements the tensor's shape holds.</summary>
    public static long ElementCount(TensorProto tensor)
    {
        long count = 1;
        foreach (var d in tensor.Dims)
        {
            count *= d;
        }

        return count;
    }

    public static TensorProto Floats(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> values) =>
        Make(name, TensorProto.Types.DataType.Float, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Float16s(string name, ReadOnlySpan<long> dims, ReadOnlySpan<Half> values) =>
        Make(name, TensorProto.Types.DataType.Float16, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Int8(string name, ReadOnlySpan<long> dims, ReadOnlySpan<sbyte> values) =>
        Make(name, TensorProto.Types.DataType.Int8, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto UInt8(string name, ReadOnlySpan<long> dims, ReadOnlySpan<byte> values) =>
        Make(name, TensorProto.Types.DataType.Uint8, dims, values);

    public static TensorProto Int64(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> values) =>
        Make(name, TensorProto.Types.DataType.Int64, dims, MemoryMarshal.AsBytes(values));

    private static TensorProto Make(string name, TensorProto.Types.DataType type, ReadOnlySpan<long> dims, ReadOnlySpan<byte> data)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian.");
        }

        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        foreach (var d in dims)
        {
            tensor.Dims.Add(d);
        }

        return tensor;
    }
}
