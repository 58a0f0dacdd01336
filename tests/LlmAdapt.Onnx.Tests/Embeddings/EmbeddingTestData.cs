namespace LlmAdapt.Onnx.Tests.Embeddings;

/// <summary>Shared files the embedding tests read (through <see cref="TestData"/>), failing loudly when one is missing.</summary>
internal static class EmbeddingTestData
{
    public const string CheckSentence = "Sentence number 0 talks about retrieval augmented generation and fine-tuning large language models for organisations.";

    public static string PathOf(string relative)
    {
        var path = Path.Combine(TestData.SharedRoot, relative);
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new FileNotFoundException($"Shared test file missing: {path}", path);
        }

        return path;
    }

    /// <summary>Reads the sentences of an SST-2 tsv file (header <c>sentence&lt;TAB&gt;label</c>).</summary>
    public static IReadOnlyList<string> Sst2Sentences(string split) => File.ReadLines(PathOf($"data/classification/sst2/{split}.tsv"))
        .Skip(1)
        .Select(line => line.Split('\t')[0])
        .ToList();

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);
}
