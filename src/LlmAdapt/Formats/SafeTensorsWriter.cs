using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace LlmAdapt.Formats;

/// <summary>
/// Collects tensors and writes them as one safetensors file, atomically (a temporary file beside the target, flushed,
/// then renamed over it), so a crash mid-write leaves the previous file intact. Tensors are written in name order.
/// </summary>
public sealed class SafeTensorsWriter
{
    private readonly SortedDictionary<string, (SafeTensorDType DType, long[] Shape, byte[] Data)> _tensors = new(StringComparer.Ordinal);

    /// <summary>Gets the <c>__metadata__</c> entries to write (string to string).</summary>
    public IDictionary<string, string> Metadata { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Adds a float tensor, stored as F32 (or converted to F16/BF16 when <paramref name="dtype"/> says so).</summary>
    /// <param name="name">The tensor name; unique.</param>
    /// <param name="values">The values, row-major.</param>
    /// <param name="shape">The shape; its product must equal the number of values.</param>
    /// <param name="dtype">The stored type: F32, F16 or BF16.</param>
    /// <exception cref="ArgumentException">The name is taken, or the shape does not match the values.</exception>
    public void Add(string name, ReadOnlySpan<float> values, long[] shape, SafeTensorDType dtype = SafeTensorDType.F32)
    {
        Check(name, shape, values.Length);
        byte[] data;
        switch (dtype)
        {
            case SafeTensorDType.F32:
                data = MemoryMarshal.AsBytes(values).ToArray();
                break;
            case SafeTensorDType.F16:
                data = new byte[values.Length * 2];
                for (var i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(i * 2), (Half)values[i]);
                }

                break;
            case SafeTensorDType.BF16:
                data = new byte[values.Length * 2];
                for (var i = 0; i < values.Length; i++)
                {
                    // Round to nearest even, as PyTorch does when it casts to bfloat16.
                    var bits = (uint)BitConverter.SingleToInt32Bits(values[i]);
                    var rounded = (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
                    BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i * 2), rounded);
                }

                break;
            default:
                throw new ArgumentException($"Float values cannot be stored as {dtype}; use F32, F16 or BF16.", nameof(dtype));
        }

        _tensors.Add(name, (dtype, shape, data));
    }

    /// <summary>Adds an integer tensor stored as I64.</summary>
    /// <param name="name">The tensor name; unique.</param>
    /// <param name="values">The values.</param>
    /// <param name="shape">The shape.</param>
    public void Add(string name, ReadOnlySpan<long> values, long[] shape)
    {
        Check(name, shape, values.Length);
        _tensors.Add(name, (SafeTensorDType.I64, shape, MemoryMarshal.AsBytes(values).ToArray()));
    }

    /// <summary>Writes the file atomically.</summary>
    /// <param name="path">The target file; its folder is created if needed.</param>
    /// <param name="cancellationToken">Stops before the rename; the target is then untouched.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public async Task WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var header = BuildHeader();
        await AtomicFile.WriteAsync(path, async (stream, token) =>
        {
            var lengthBytes = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, header.Length);
            await stream.WriteAsync(lengthBytes, token).ConfigureAwait(false);
            await stream.WriteAsync(header, token).ConfigureAwait(false);
            foreach (var tensor in _tensors.Values)
            {
                await stream.WriteAsync(tensor.Data, token).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private byte[] BuildHeader()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (Metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in Metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, tensor) in _tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", tensor.DType.ToString());
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + tensor.Data.LongLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += tensor.Data.LongLength;
            }

            json.WriteEndObject();
        }

        // The data section starts 8-byte aligned, as the format recommends: pad the header with spaces.
        var bytes = buffer.ToArray();
        var padded = (bytes.Length + 7) / 8 * 8;
        if (padded == bytes.Length)
        {
            return bytes;
        }

        var result = new byte[padded];
        bytes.CopyTo(result, 0);
        result.AsSpan(bytes.Length).Fill((byte)' ');
        return result;
    }

    private void Check(string name, long[] shape, int count)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (name == "__metadata__" || _tensors.ContainsKey(name))
        {
            throw new ArgumentException($"A tensor named '{name}' is already added (or the name is reserved).", nameof(name));
        }

        var product = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Any(d => d < 0) || product != count)
        {
            throw new ArgumentException($"Tensor '{name}' has {count} values but shape [{string.Join(", ", shape)}] holds {product}.", nameof(shape));
        }
    }
}
