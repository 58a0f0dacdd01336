using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace LlmAdapt.Formats;

/// <summary>
/// Reads a safetensors file (8-byte little-endian header length, JSON header, data section) through a memory map.
/// A malformed file is an <see cref="InvalidDataFileException"/> naming the file and, where it applies, the tensor; a
/// missing file is a <see cref="FileNotFoundException"/>.
/// Thread-safe for concurrent reads.
/// </summary>
public sealed class SafeTensorsReader : IDisposable
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _dataStart;

    private SafeTensorsReader(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long dataStart, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Gets the file read.</summary>
    public string Path { get; }

    /// <summary>Gets the tensors by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors { get; }

    /// <summary>Gets the header's <c>__metadata__</c> entries (string to string).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The reader; dispose it to release the map.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">The header is malformed or a tensor lies outside the file.</exception>
    public static SafeTensorsReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"{full}: no such safetensors file.", full);
        }

        var fileLength = new FileInfo(full).Length;
        if (fileLength < 8)
        {
            throw new InvalidDataFileException(full, 0, $"the file is {fileLength} bytes, too short for a safetensors header.");
        }

        byte[] header;
        using (var stream = File.OpenRead(full))
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            stream.ReadExactly(lengthBytes);
            var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > fileLength - 8)
            {
                throw new InvalidDataFileException(full, 0, $"the header claims {headerLength} bytes but the file has {fileLength - 8} after the length field.");
            }

            header = new byte[headerLength];
            stream.ReadExactly(header);
        }

        var dataStart = 8 + header.LongLength;
        var dataLength = fileLength - dataStart;
        var (tensors, metadata) = ParseHeader(full, header, dataLength);
        var map = MemoryMappedFile.CreateFromFile(full, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
        return new SafeTensorsReader(full, map, view, dataStart, tensors, metadata);
    }

    /// <summary>Returns whether the file has a tensor named <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns><see langword="true"/> when present.</returns>
    public bool Contains(string name) => Tensors.ContainsKey(name);

    /// <summary>Reads a floating-point tensor as <see cref="float"/> values (F16, BF16 and F64 are converted).</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The values, row-major.</returns>
    /// <exception cref="InvalidDataFileException">No such tensor, or it is not floating-point.</exception>
    public float[] ReadSingle(string name)
    {
        var info = Get(name);
        var result = new float[info.ElementCount];
        ReadSingle(name, result);
        return result;
    }

    /// <summary>Reads a floating-point tensor, checking that its shape is <paramref name="expectedShape"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="expectedShape">The shape the caller's config implies.</param>
    /// <returns>The values.</returns>
    /// <exception cref="InvalidDataFileException">The tensor is missing or its shape differs (both shapes are named).</exception>
    public float[] ReadSingle(string name, long[] expectedShape)
    {
        ArgumentNullException.ThrowIfNull(expectedShape);
        var info = Get(name);
        if (!info.Shape.SequenceEqual(expectedShape))
        {
            throw new InvalidDataFileException(Path, 0, $"tensor '{name}' has shape {info.ShapeText} but the config implies [{string.Join(", ", expectedShape)}].");
        }

        return ReadSingle(name);
    }

    /// <summary>Reads a floating-point tensor into <paramref name="destination"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="destination">Receives the values; its length must equal the element count.</param>
    /// <exception cref="InvalidDataFileException">No such tensor, or it is not floating-point.</exception>
    /// <exception cref="ArgumentException">The destination length differs from the element count.</exception>
    public void ReadSingle(string name, Span<float> destination)
    {
        var info = Get(name);
        if (destination.Length != info.ElementCount)
        {
            throw new ArgumentException($"Tensor '{name}' has {info.ElementCount} elements; the destination has {destination.Length}.", nameof(destination));
        }

        var position = _dataStart + info.Offset;
        switch (info.DType)
        {
            case SafeTensorDType.F32:
                ReadInto(position, MemoryMarshal.AsBytes(destination));
                if (!BitConverter.IsLittleEndian)
                {
                    throw new PlatformNotSupportedException("Big-endian machines are not supported.");
                }

                break;
            case SafeTensorDType.F16:
            {
                var raw = new Half[destination.Length];
                ReadInto(position, MemoryMarshal.AsBytes(raw.AsSpan()));
                for (var i = 0; i < raw.Length; i++)
                {
                    destination[i] = (float)raw[i];
                }

                break;
            }

            case SafeTensorDType.BF16:
            {
                var raw = new ushort[destination.Length];
                ReadInto(position, MemoryMarshal.AsBytes(raw.AsSpan()));
                for (var i = 0; i < raw.Length; i++)
                {
                    destination[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                }

                break;
            }

            case SafeTensorDType.F64:
            {
                var raw = new double[destination.Length];
                ReadInto(position, MemoryMarshal.AsBytes(raw.AsSpan()));
                for (var i = 0; i < raw.Length; i++)
                {
                    destination[i] = (float)raw[i];
                }

                break;
            }

            default:
                throw new InvalidDataFileException(Path, 0, $"tensor '{name}' is {info.DType}, not a floating-point type.");
        }
    }

    /// <summary>Reads an integer tensor (I64 or I32) as <see cref="long"/> values.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The values.</returns>
    /// <exception cref="InvalidDataFileException">No such tensor, or it is not an integer type.</exception>
    public long[] ReadInt64(string name)
    {
        var info = Get(name);
        var result = new long[info.ElementCount];
        var position = _dataStart + info.Offset;
        switch (info.DType)
        {
            case SafeTensorDType.I64:
                ReadInto(position, MemoryMarshal.AsBytes(result.AsSpan()));
                break;
            case SafeTensorDType.I32:
                var raw = new int[result.Length];
                ReadInto(position, MemoryMarshal.AsBytes(raw.AsSpan()));
                for (var i = 0; i < raw.Length; i++)
                {
                    result[i] = raw[i];
                }

                break;
            default:
                throw new InvalidDataFileException(Path, 0, $"tensor '{name}' is {info.DType}, not an integer type.");
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _view.Dispose();
        _map.Dispose();
    }

    private SafeTensorInfo Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Tensors.TryGetValue(name, out var info)
            ? info
            : throw new InvalidDataFileException(Path, 0, $"no tensor named '{name}' (the file has {Tensors.Count}: {string.Join(", ", Tensors.Keys.Take(8))}{(Tensors.Count > 8 ? ", …" : string.Empty)}).");
    }

    private void ReadInto(long position, Span<byte> destination)
    {
        unsafe
        {
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            try
            {
                new ReadOnlySpan<byte>(pointer + _view.PointerOffset + position, destination.Length).CopyTo(destination);
            }
            finally
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
    }

    private static (Dictionary<string, SafeTensorInfo> Tensors, Dictionary<string, string> Metadata) ParseHeader(string path, byte[] header, long dataLength)
    {
        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.AsMemory().TrimEnd((byte)' '));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataFileException(path, 0, $"the header is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataFileException(path, 0, "the header is not a JSON object.");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var entry in property.Value.EnumerateObject())
                        {
                            metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
                        }
                    }

                    continue;
                }

                tensors[property.Name] = ParseTensor(path, property, dataLength);
            }
        }

        return (tensors, metadata);
    }

    private static SafeTensorInfo ParseTensor(string path, JsonProperty property, long dataLength)
    {
        var name = property.Name;
        try
        {
            var value = property.Value;
            var dtypeText = value.GetProperty("dtype").GetString();
            var dtype = dtypeText switch
            {
                "F32" => SafeTensorDType.F32,
                "F16" => SafeTensorDType.F16,
                "BF16" => SafeTensorDType.BF16,
                "F64" => SafeTensorDType.F64,
                "I64" => SafeTensorDType.I64,
                "I32" => SafeTensorDType.I32,
                _ => throw new InvalidDataFileException(path, 0, $"tensor '{name}' has unsupported dtype '{dtypeText}' (supported: F32, F16, BF16, F64, I64, I32)."),
            };
            var shape = value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
            {
                throw new InvalidDataFileException(path, 0, $"tensor '{name}' has data offsets [{string.Join(", ", offsets)}] outside the {dataLength}-byte data section.");
            }

            if (shape.Any(d => d < 0))
            {
                throw new InvalidDataFileException(path, 0, $"tensor '{name}' has a negative dimension in [{string.Join(", ", shape)}].");
            }

            var info = new SafeTensorInfo(name, dtype, shape, offsets[0], offsets[1] - offsets[0]);
            var expected = info.ElementCount * SizeOf(dtype);
            if (expected != info.Length)
            {
                throw new InvalidDataFileException(path, 0, $"tensor '{name}' of shape {info.ShapeText} and dtype {dtype} needs {expected} bytes but its offsets span {info.Length}.");
            }

            return info;
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataFileException(path, 0, $"tensor '{name}' has a malformed header entry: {ex.Message}", ex);
        }
    }

    internal static int SizeOf(SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 or SafeTensorDType.I32 => 4,
        SafeTensorDType.F16 or SafeTensorDType.BF16 => 2,
        _ => 8,
    };
}
