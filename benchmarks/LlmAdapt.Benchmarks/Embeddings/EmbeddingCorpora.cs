using System.Text.Json;

namespace LlmAdapt.Benchmarks.Embeddings;

/// <summary>The two workloads of the embedding comparison.</summary>
internal static class EmbeddingCorpora
{
    /// <summary>(a) the first 512 sentences of SST-2's test split (about 20 tokens each).</summary>
    public static string[] ShortSentences() => File.ReadLines(Data.PathOf("classification/sst2/test.tsv"))
        .Skip(1)
        .Select(line => line.Split('\t')[0])
        .Take(512)
        .ToArray();

    /// <summary>(b) all 1,400 Cranfield abstracts, title + text (mean about 187 tokens).</summary>
    public static string[] Abstracts()
    {
        var texts = new List<string>(1400);
        foreach (var line in File.ReadLines(Data.PathOf("retrieval/cranfield/beir/corpus.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            texts.Add($"{doc.RootElement.GetProperty("title").GetString()} {doc.RootElement.GetProperty("text").GetString()}");
        }

        return texts.ToArray();
    }

    public static string[] Get(string corpus) => corpus switch
    {
        "short" => ShortSentences(),
        "abstracts" => Abstracts(),
        _ => throw new ArgumentOutOfRangeException(nameof(corpus), corpus, "short or abstracts"),
    };
}
