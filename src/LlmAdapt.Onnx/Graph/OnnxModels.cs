using System.Security.Cryptography;
using Google.Protobuf;
using LlmAdapt.Formats;
using Onnx;

namespace LlmAdapt.Onnx.Graph;

/// <summary>Loading, inspecting and saving ONNX models as protobuf messages (OnnxSharp's <see cref="ModelProto"/>).</summary>
internal static class OnnxModels
{
    /// <summary>The operator domain of ONNX Runtime's contrib ops (<c>DynamicQuantizeMatMul</c>, <c>Attention</c>, …).</summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>Parses a model, naming <paramref name="displayPath"/> when the bytes are not one.</summary>
    /// <exception cref="ModelLoadException">The bytes are not an ONNX model.</exception>
    public static ModelProto Parse(string displayPath, ReadOnlySpan<byte> bytes)
    {
        try
        {
            var model = ModelProto.Parser.ParseFrom(bytes);
            if (model.Graph is null || model.Graph.Node.Count == 0)
            {
                throw new ModelLoadException(displayPath, "not an ONNX model: it has no graph.", null);
            }

            return model;
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ModelLoadException(displayPath, $"not an ONNX model (protobuf: {ex.Message}).", ex);
        }
    }

    /// <summary>Makes sure the model imports operator set <paramref name="domain"/> at <paramref name="version"/> or later.</summary>
    public static void RequireOpset(ModelProto model, string domain, long version)
    {
        ArgumentNullException.ThrowIfNull(model);
        var existing = model.OpsetImport.FirstOrDefault(o => o.Domain == domain || (domain.Length == 0 && o.Domain is null));
        if (existing is null)
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        }
        else if (existing.Version < version)
        {
            existing.Version = version;
        }
    }

    /// <summary>Makes a node.</summary>
    public static NodeProto Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, string domain = "")
    {
        var node = new NodeProto { OpType = opType, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    /// <summary>Sets (or replaces) a <c>metadata_props</c> entry.</summary>
    public static void SetMetadata(ModelProto model, string key, string value)
    {
        var entry = model.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (entry is null)
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        else
        {
            entry.Value = value;
        }
    }

    /// <summary>Reads a <c>metadata_props</c> entry, or <see langword="null"/>.</summary>
    public static string? GetMetadata(ModelProto model, string key) => model.MetadataProps.FirstOrDefault(p => p.Key == key)?.Value;

    /// <summary>The lower-case hex SHA-256 of some bytes (used to key and check derived models).</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>
    /// Writes the model to <paramref name="path"/> through a temp file in the same folder and a rename, so a reader
    /// never sees half a file and a crash leaves the old one (or none).
    /// </summary>
    public static void WriteAtomically(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, model.WriteTo);
    }
}
