namespace LlmAdapt.Onnx.Tests.Embeddings;

/// <summary>Finds the shared datasets and models (<c>../shared</c> beside the repository, or <c>LLMADAPT_SHARED</c>).</summary>
internal static class EmbeddingTestData
{
    public const string CheckSentence = "Sentence number 0 talks about retrieval augmented generation and fine-tuning large language models for organisations.";

    public static string SharedRoot { get; } = FindShared();

    public static string PathOf(string relative)
    {
        var path = Path.Combine(SharedRoot, relative);
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

    private static string FindShared()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
        if (!string.IsNullOrEmpty(fromEnvironment) && Directory.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")) && dir.Parent is { } parent && Directory.Exists(Path.Combine(parent.FullName, "shared")))
            {
                return Path.Combine(parent.FullName, "shared");
            }
        }

        throw new DirectoryNotFoundException("The shared datasets were not found: put the repository next to 'shared/' or set LLMADAPT_SHARED.");
    }
}
