using LlmAdapt.Retrieval.Evaluation;

namespace LlmAdapt.Benchmarks.Embeddings;

/// <summary>The two workloads of the embedding comparison.</summary>
internal static class EmbeddingCorpora
{
    /// <summary>(a) the first 512 sentences of SST-2's test split (about 20 tokens each).</summary>
    public static string[] ShortSentences() => File.ReadLines(TestData.PathOf("classification/sst2/test.tsv"))
        .Skip(1)
        .Select(line => line.Split('\t')[0])
        .Take(512)
        .ToArray();

    /// <summary>
    /// (b) all 1,400 Cranfield abstracts, title + text (mean about 187 tokens); on a machine too busy for that,
    /// <c>LLMADAPT_BENCH_ABSTRACTS=N</c> takes the first N (and the closing line says so).
    /// </summary>
    public static string[] Abstracts()
    {
        var dataset = BeirDataset.LoadAsync(TestData.PathOf("retrieval/cranfield/beir")).GetAwaiter().GetResult();
        return dataset.Corpus.Take(AbstractsLimit ?? dataset.Corpus.Count).Select(d => $"{d.Title} {d.Text}").ToArray();
    }

    /// <summary>The first-N limit from <c>LLMADAPT_BENCH_ABSTRACTS</c>, or <see langword="null"/> for all.</summary>
    public static int? AbstractsLimit =>
        int.TryParse(Environment.GetEnvironmentVariable("LLMADAPT_BENCH_ABSTRACTS"), out var n) && n > 0 ? n : null;

    public static string[] Get(string corpus) => corpus switch
    {
        "short" => ShortSentences(),
        "abstracts" => Abstracts(),
        _ => throw new ArgumentOutOfRangeException(nameof(corpus), corpus, "short or abstracts"),
    };
}
