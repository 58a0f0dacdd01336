using Google.FlatBuffers;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// Writes ONNX Runtime's LoRA adapter file (<c>.onnx_adapter</c>), which <c>OrtLoraAdapter</c> (ONNX Runtime) and
/// <c>Adapters.LoadAdapter</c> (ONNX Runtime GenAI) read: a FlatBuffers <c>Adapter</c> table (file identifier
/// <c>TORT</c>; format_version, adapter_version, model_version, parameters) whose <c>Parameter</c> tables hold a name,
/// int64 dims, an ONNX element type and the raw little-endian bytes (8-byte aligned). At run time each parameter is
/// fed to the graph input of the same name.
/// </summary>
internal static class OnnxAdapterFile
{
    /// <summary>The file format version ONNX Runtime reads (its <c>kAdapterFormatVersion</c>).</summary>
    public const int FormatVersion = 1;

    private const int FloatDataType = 1;

    /// <summary>The bytes of an adapter file holding <paramref name="parameters"/> (float32, little-endian as x86 and ARM store them).</summary>
    public static byte[] Build(IEnumerable<(string Name, long[] Dims, float[] Values)> parameters, int adapterVersion = 1, int modelVersion = 1)
    {
        var builder = new FlatBufferBuilder(1 << 16);
        var offsets = new List<Offset<Table>>();
        foreach (var (name, dims, values) in parameters)
        {
            var nameOffset = builder.CreateString(name);
            builder.StartVector(sizeof(long), dims.Length, sizeof(long));
            for (var i = dims.Length - 1; i >= 0; i--)
            {
                builder.AddLong(dims[i]);
            }

            var dimsOffset = builder.EndVector();
            var bytes = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            builder.StartVector(1, bytes.Length, 8);
            builder.Add<byte>(bytes);
            var dataOffset = builder.EndVector();

            builder.StartTable(4);
            builder.AddOffset(0, nameOffset.Value, 0);
            builder.AddOffset(1, dimsOffset.Value, 0);
            builder.AddInt(2, FloatDataType, 0);
            builder.AddOffset(3, dataOffset.Value, 0);
            offsets.Add(new Offset<Table>(builder.EndTable()));
        }

        builder.StartVector(sizeof(int), offsets.Count, sizeof(int));
        for (var i = offsets.Count - 1; i >= 0; i--)
        {
            builder.AddOffset(offsets[i].Value);
        }

        var parametersOffset = builder.EndVector();
        builder.StartTable(4);
        builder.AddInt(0, FormatVersion, 0);
        builder.AddInt(1, adapterVersion, 0);
        builder.AddInt(2, modelVersion, 0);
        builder.AddOffset(3, parametersOffset.Value, 0);
        var root = builder.EndTable();
        builder.Finish(root, "TORT");
        return builder.SizedByteArray();
    }
}
