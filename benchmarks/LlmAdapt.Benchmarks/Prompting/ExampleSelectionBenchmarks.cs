using BenchmarkDotNet.Attributes;
using LlmAdapt.Prompting;
using LlmAdapt.Prompting.FewShot;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Benchmarks.Prompting;

/// <summary>
/// Selecting 4 of 2,000 SST-2 examples for each of 50 queries, with 384-dimensional embeddings served from memory
/// (seeded random unit vectors, so only the selection is timed, not an embedding model): top-k similarity as the
/// baseline, maximal marginal relevance over the 20 and over the 200 most similar.
/// Run: <c>dotnet run -c Release --project benchmarks/LlmAdapt.Benchmarks -- --filter '*ExampleSelection*'</c>.
/// </summary>
[MemoryDiagnoser]
public class ExampleSelectionBenchmarks
{
    private SemanticSimilarityExampleSelector _similarity = null!;
    private MaxMarginalRelevanceExampleSelector _mmr20 = null!;
    private MaxMarginalRelevanceExampleSelector _mmr200 = null!;
    private string[] _queries = [];

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var rows = File.ReadLines(TestData.PathOf("classification/sst2/train.tsv")).Skip(1).Select(l => l.Split('\t')).Where(r => r[0].Length > 20).Take(2050).ToArray();
        var pool = rows.Take(2000).Select(r => new PromptExample(r[0].Trim(), r[1] == "1" ? "positive" : "negative")).ToArray();
        _queries = [.. rows.Skip(2000).Select(r => r[0].Trim())];
        var generator = new TableGenerator([.. pool.Select(p => p.Input), .. _queries]);
        _similarity = new SemanticSimilarityExampleSelector(pool, generator, k: 4);
        _mmr20 = new MaxMarginalRelevanceExampleSelector(pool, generator, k: 4, lambda: 0.5, fetchK: 20);
        _mmr200 = new MaxMarginalRelevanceExampleSelector(pool, generator, k: 4, lambda: 0.5, fetchK: 200);

        // Embed the pools once, outside the measurement, as a long-lived selector would have.
        await _similarity.SelectAsync(_queries[0]);
        await _mmr20.SelectAsync(_queries[0]);
        await _mmr200.SelectAsync(_queries[0]);
    }

    [Benchmark(Baseline = true)]
    public async Task<int> Similarity_TopK()
    {
        var n = 0;
        foreach (var q in _queries)
        {
            n += (await _similarity.SelectAsync(q)).Count;
        }

        return n;
    }

    [Benchmark]
    public async Task<int> Mmr_Fetch20()
    {
        var n = 0;
        foreach (var q in _queries)
        {
            n += (await _mmr20.SelectAsync(q)).Count;
        }

        return n;
    }

    [Benchmark]
    public async Task<int> Mmr_Fetch200()
    {
        var n = 0;
        foreach (var q in _queries)
        {
            n += (await _mmr200.SelectAsync(q)).Count;
        }

        return n;
    }

    private sealed class TableGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly Dictionary<string, float[]> _table = new(StringComparer.Ordinal);

        public TableGenerator(IEnumerable<string> texts)
        {
            var random = new Random(17);
            foreach (var text in texts)
            {
                if (!_table.ContainsKey(text))
                {
                    var v = new float[384];
                    for (var i = 0; i < v.Length; i++)
                    {
                        v[i] = (float)((random.NextDouble() * 2) - 1);
                    }

                    _table[text] = v;
                }
            }
        }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
            => Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>((float[])_table[v].Clone()))));

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
