using LlmAdapt.Onnx.Graph;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using Onnx;

namespace LlmAdapt.Onnx.Embeddings;

/// <summary>
/// The int8 versions of float models, made once by <see cref="Int8WeightQuantizer"/> and kept on disk under a name
/// derived from the source model's SHA-256. Each file carries the quantizer version and the source hash in its
/// metadata; a file whose metadata does not match, or that does not parse, is made again.
/// </summary>
internal static class Int8ModelCache
{
    public const string VersionKey = "llmadapt.int8.version";
    public const string SourceKey = "llmadapt.int8.source_sha256";

    private static readonly Lock s_gate = new();

    public static string DefaultDirectory
    {
        get
        {
            var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
            return Path.Combine(string.IsNullOrEmpty(root) ? Path.GetTempPath() : root, "LlmAdapt", "models");
        }
    }

    /// <summary>Returns the path of the int8 model made from <paramref name="source"/>, making it when needed.</summary>
    /// <param name="displayPath">The source's name in messages.</param>
    /// <param name="source">The float model's bytes.</param>
    /// <param name="cacheDirectory">The cache folder, or <see langword="null"/> for <see cref="DefaultDirectory"/>.</param>
    /// <param name="modelName">Goes into the file name.</param>
    /// <param name="tokenizer">The model's tokenizer, for calibration.</param>
    /// <param name="maxSequenceLength">The longest calibration encoding.</param>
    public static string GetOrCreate(string displayPath, byte[] source, string? cacheDirectory, string modelName, BertTokenizer tokenizer, int maxSequenceLength)
    {
        var directory = Path.GetFullPath(cacheDirectory ?? DefaultDirectory);
        var hash = OnnxModels.Sha256(source);
        var safeName = string.Concat(modelName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
        var path = Path.Combine(directory, $"{safeName}-{hash[..16]}.int8-v{Int8WeightQuantizer.Version}.onnx");
        lock (s_gate)
        {
            if (IsValid(path, hash))
            {
                return path;
            }

            var model = OnnxModels.Parse(displayPath, source);
            try
            {
                Dictionary<string, ActivationRange> calibration;
                try
                {
                    calibration = Int8Calibration.Measure(model, tokenizer, maxSequenceLength);
                }
                catch (OnnxRuntimeException ex)
                {
                    throw new ModelLoadException(displayPath, $"cannot be calibrated for int8: {ex.Message}", ex);
                }

                var report = Int8WeightQuantizer.Quantize(model, calibration: calibration);
                if (report.QuantizedMatMuls == 0)
                {
                    throw new ModelLoadException(displayPath, "int8 needs MatMul nodes with float weight initializers; this model has none.", null);
                }
            }
            catch (LlmAdaptException ex) when (ex is not ModelLoadException)
            {
                throw new ModelLoadException(displayPath, $"cannot be quantized to int8: {ex.Message}", ex);
            }

            OnnxModels.SetMetadata(model, VersionKey, Int8WeightQuantizer.Version);
            OnnxModels.SetMetadata(model, SourceKey, hash);
            try
            {
                OnnxModels.WriteAtomically(model, path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ModelLoadException(path, $"cannot write the int8 model to the cache ({ex.Message}); set {nameof(OnnxEmbeddingOptions)}.{nameof(OnnxEmbeddingOptions.CacheDirectory)} to a writable folder.", ex);
            }

            return path;
        }
    }

    private static bool IsValid(string path, string sourceHash)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            return OnnxModels.GetMetadata(model, VersionKey) == Int8WeightQuantizer.Version && OnnxModels.GetMetadata(model, SourceKey) == sourceHash;
        }
        catch (Exception ex) when (ex is IOException or Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }
    }
}
