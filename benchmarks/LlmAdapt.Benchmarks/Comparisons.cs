namespace LlmAdapt.Benchmarks;

/// <summary>The `compare` verbs: each runs one BenchmarkDotNet comparison and prints a closing line of ratios.</summary>
internal static class Comparisons
{
    private static readonly Dictionary<string, Func<string[], Task<int>>> s_comparisons = new(StringComparer.OrdinalIgnoreCase)
    {
        ["tokens"] = TokenCountingComparison.RunAsync,
        ["embeddings"] = Embeddings.EmbeddingComparison.RunAsync,
        ["templates"] = Prompting.TemplateRenderingComparison.RunAsync,
        ["generation"] = Generation.GenerationComparison.RunAsync,
        ["serving"] = Generation.ServingComparison.RunAsync,
        ["retrieval"] = Retrieval.RetrievalComparison.RunAsync,
        ["postgres"] = Retrieval.PostgresComparison.RunAsync,
        ["heads"] = Heads.HeadComparison.RunAsync,
        ["reward"] = Heads.RewardComparison.RunAsync,
        ["training"] = Training.TrainingComparison.RunAsync,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || !s_comparisons.TryGetValue(args[0], out var run))
        {
            await Console.Error.WriteLineAsync($"usage: compare ({string.Join("|", s_comparisons.Keys)}) [BenchmarkDotNet args]").ConfigureAwait(false);
            return 2;
        }

        return await run(args.Skip(1).ToArray()).ConfigureAwait(false);
    }
}
