using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace LlmAdapt.Onnx.Embeddings;

/// <summary>
/// An ONNX Runtime session over a BERT-family encoder, checked to take <c>input_ids</c> and <c>attention_mask</c>
/// (and optionally <c>token_type_ids</c>) and to give per-token hidden states. <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue})"/>
/// is thread-safe, so one instance serves every caller.
/// </summary>
internal sealed class BertEncoderSession : IDisposable
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string TokenTypeIds = "token_type_ids";

    private static readonly string[] s_preferredOutputs = ["last_hidden_state", "token_embeddings"];

    private BertEncoderSession(InferenceSession session, string displayPath)
    {
        Session = session;
        DisplayPath = displayPath;
        var inputs = session.InputMetadata;
        string Describe() => string.Join(", ", inputs.Select(i => $"{i.Key} {i.Value.ElementDataType}[{string.Join(',', i.Value.Dimensions)}]"));
        foreach (var name in new[] { InputIds, AttentionMask })
        {
            if (!inputs.TryGetValue(name, out var meta) || meta.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64 || meta.Dimensions.Length != 2)
            {
                throw new ModelLoadException(displayPath, $"not a BERT encoder: it needs an int64 [batch, sequence] input '{name}'; its inputs are {Describe()}.", null);
            }
        }

        HasTokenTypeIds = inputs.ContainsKey(TokenTypeIds);
        var unknown = inputs.Keys.Except([InputIds, AttentionMask, TokenTypeIds]).ToList();
        if (unknown.Count > 0)
        {
            throw new ModelLoadException(displayPath, $"not a BERT encoder: unexpected input(s) {string.Join(", ", unknown)}; its inputs are {Describe()}.", null);
        }

        var outputs = session.OutputMetadata;
        var output = s_preferredOutputs.FirstOrDefault(outputs.ContainsKey)
            ?? outputs.Where(o => o.Value.Dimensions.Length == 3).Select(o => o.Key).FirstOrDefault()
            ?? throw new ModelLoadException(displayPath, $"no per-token output [batch, sequence, hidden]; its outputs are {string.Join(", ", outputs.Select(o => $"{o.Key}[{string.Join(',', o.Value.Dimensions)}]"))}.", null);
        var dims = outputs[output].Dimensions;
        if (dims.Length != 3 || dims[2] <= 0 || outputs[output].ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
        {
            throw new ModelLoadException(displayPath, $"output '{output}' must be float [batch, sequence, hidden] with a fixed hidden size; it is {outputs[output].ElementDataType}[{string.Join(',', dims)}].", null);
        }

        OutputName = output;
        HiddenSize = dims[2];
        InputNames = HasTokenTypeIds ? [InputIds, AttentionMask, TokenTypeIds] : [InputIds, AttentionMask];
        OutputNames = [output];
    }

    public InferenceSession Session { get; }

    public string DisplayPath { get; }

    public bool HasTokenTypeIds { get; }

    public string OutputName { get; }

    public int HiddenSize { get; }

    public string[] InputNames { get; }

    public string[] OutputNames { get; private set; }

    /// <summary>Gets how many layers' hidden states one run gives (the outputs in <see cref="OutputNames"/>, oldest layer first).</summary>
    public int Layers => OutputNames.Length;

    /// <summary>Opens a model file, turning every way it can be unusable into a <see cref="ModelLoadException"/> that names it.</summary>
    public static BertEncoderSession OpenFile(string path, int intraOpThreads)
    {
        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, "no such file.", null);
        }

        var length = new FileInfo(path).Length;
        var head = new byte[(int)Math.Min(length, 256)];
        using (var stream = File.OpenRead(path))
        {
            stream.ReadExactly(head);
        }

        CheckBytes(path, head, length);
        return Open(path, options => new InferenceSession(path, options), intraOpThreads);
    }

    /// <summary>Opens a model held in memory (the built-in model, a quantized model).</summary>
    public static BertEncoderSession OpenBytes(string displayPath, byte[] model, int intraOpThreads)
    {
        CheckBytes(displayPath, model.AsSpan(0, Math.Min(model.Length, 256)), model.Length);
        return Open(displayPath, options => new InferenceSession(model, options), intraOpThreads);
    }

    /// <summary>
    /// Opens a model with the hidden states of its last <paramref name="layers"/> encoder layers as outputs (see
    /// <see cref="Graph.EncoderLayerOutputs"/>); with 1 it is <see cref="OpenBytes"/>.
    /// </summary>
    /// <exception cref="ModelLoadException">The model has fewer encoder layers than asked for, or none can be found.</exception>
    public static BertEncoderSession OpenWithLayers(string displayPath, byte[] model, int layers, int intraOpThreads)
    {
        if (layers <= 1)
        {
            return OpenBytes(displayPath, model, intraOpThreads);
        }

        CheckBytes(displayPath, model.AsSpan(0, Math.Min(model.Length, 256)), model.Length);
        var rewritten = WithLayerOutputs(displayPath, model, layers, out var names);
        var session = OpenBytes(displayPath, rewritten, intraOpThreads);
        try
        {
            session.UseOutputs(names);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Adds the last <paramref name="layers"/> hidden states as outputs; returns the model and their names, oldest first.</summary>
    public static byte[] WithLayerOutputs(string displayPath, byte[] model, int layers, out string[] names)
    {
        var proto = Graph.OnnxModels.Parse(displayPath, model);
        var lastOutput = s_preferredOutputs.FirstOrDefault(o => proto.Graph.Output.Any(g => g.Name == o))
            ?? throw new ModelLoadException(displayPath, $"multi-layer pooling needs a per-token output named {string.Join(" or ", s_preferredOutputs)}; its outputs are {string.Join(", ", proto.Graph.Output.Select(o => o.Name))}.", null);
        var states = Graph.EncoderLayerOutputs.Find(proto, displayPath, lastOutput);
        var available = states.Count - 1;
        if (layers > available)
        {
            throw new ModelLoadException(displayPath, $"{layers} layers were asked to be pooled but the encoder has {available}.", null);
        }

        var last = states.Skip(states.Count - layers).ToList();
        Graph.EncoderLayerOutputs.AddOutputs(proto, last, lastOutput);
        names = Enumerable.Range(0, layers).Select(i => Graph.EncoderLayerOutputs.OutputPrefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return Google.Protobuf.MessageExtensions.ToByteArray(proto);
    }

    /// <summary>Makes every run give <paramref name="names"/> (each float [batch, sequence, <see cref="HiddenSize"/>]) instead of the one per-token output.</summary>
    public void UseOutputs(string[] names)
    {
        foreach (var name in names)
        {
            if (!Session.OutputMetadata.TryGetValue(name, out var meta) || meta.Dimensions.Length != 3 || meta.Dimensions[2] != HiddenSize)
            {
                throw new ModelLoadException(DisplayPath, $"output '{name}' must be float [batch, sequence, {HiddenSize}].", null);
            }
        }

        OutputNames = names;
    }

    public static SessionOptions CreateSessionOptions(int intraOpThreads)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = intraOpThreads > 0 ? intraOpThreads : Environment.ProcessorCount,
            InterOpNumThreads = 1,
        };
        return options;
    }

    public void Dispose() => Session.Dispose();

    private static BertEncoderSession Open(string displayPath, Func<SessionOptions, InferenceSession> create, int intraOpThreads)
    {
        using var options = CreateSessionOptions(intraOpThreads);
        InferenceSession session;
        try
        {
            session = create(options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelLoadException(displayPath, $"ONNX Runtime cannot load it (corrupt, truncated or not an ONNX model): {FirstLine(ex.Message)}", ex);
        }

        try
        {
            return new BertEncoderSession(session, displayPath);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Refuses an empty file or a Git LFS pointer before ONNX Runtime sees it.</summary>
    public static void CheckBytes(string displayPath, ReadOnlySpan<byte> head, long length)
    {
        if (length == 0)
        {
            throw new ModelLoadException(displayPath, "the file is empty.", null);
        }

        if (head.StartsWith("version https://git-lfs"u8))
        {
            throw new ModelLoadException(displayPath, $"this is a Git LFS pointer ({length} bytes), not the model: fetch the real file (git lfs pull).", null);
        }
    }

    private static string FirstLine(string message)
    {
        var line = message.ReplaceLineEndings("\n").Split('\n')[0];
        return line.Length > 300 ? new StringBuilder(line, 0, 300, 303).Append("...").ToString() : line;
    }
}
