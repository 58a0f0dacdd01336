using LlmAdapt.Prompting;

namespace LlmAdapt.Tests.Prompting;

/// <summary>Real SST-2 sentences (GLUE dev set, shared/data/classification/sst2/test.tsv), sampled with a fixed seed.</summary>
internal static class Sst2Sample
{
    private static readonly Lazy<PromptExample[]> s_all = new(() => File.ReadLines(Sst2Path())
        .Skip(1)
        .Select(line => line.Split('\t'))
        .Select(parts => new PromptExample(parts[0].Trim(), parts[1] == "1" ? "positive" : "negative"))
        .ToArray());

    private static string Sst2Path()
    {
        var path = TestData.PathOf("classification/sst2/test.tsv");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Test data missing: {path}", path);
    }

    /// <summary>Returns <paramref name="count"/> distinct sentences chosen by a seeded shuffle.</summary>
    public static PromptExample[] Take(int count, int seed)
    {
        var all = s_all.Value;
        Assert.True(all.Length >= count, $"SST-2 test.tsv has {all.Length} rows; {count} wanted.");
        var order = Enumerable.Range(0, all.Length).ToArray();
        new Random(seed).Shuffle(order);
        return [.. order.Take(count).Select(i => all[i])];
    }
}
