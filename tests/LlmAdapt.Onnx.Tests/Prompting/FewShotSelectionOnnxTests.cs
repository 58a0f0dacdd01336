using System.Numerics.Tensors;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Onnx.Tests.Embeddings;
using LlmAdapt.Prompting;
using LlmAdapt.Prompting.FewShot;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Onnx.Tests.Prompting;

/// <summary>
/// Few-shot selection with the real all-MiniLM-L6-v2 generator on real SST-2 sentences: test.tsv (the labelled GLUE
/// dev set, 872 rows) shuffled with seed 11; the first 160 are the pool, the next 40 the queries.
/// </summary>
public sealed class FewShotSelectionOnnxTests : IClassFixture<FewShotSelectionOnnxTests.Fixture>
{
    private readonly Fixture _data;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public FewShotSelectionOnnxTests(Fixture data, Xunit.Abstractions.ITestOutputHelper output)
    {
        _data = data;
        _output = output;
    }

    [Fact]
    public async Task Semantic_NeighboursShareTheQuerysSentimentFarMoreThanChance()
    {
        var selector = new SemanticSimilarityExampleSelector(_data.Pool, _data.Generator, k: 5);

        var agree = 0;
        foreach (var query in _data.Queries)
        {
            var neighbours = await selector.SelectAsync(query.Input);
            var positive = neighbours.Count(n => n.Output == "positive");
            agree += (positive >= 3 ? "positive" : "negative") == query.Output ? 1 : 0;
        }

        var accuracy = (double)agree / _data.Queries.Length;
        _output.WriteLine($"5-NN label agreement on 40 SST-2 queries: {accuracy:P1}");
        var majority = Math.Max(_data.Queries.Count(q => q.Output == "positive"), _data.Queries.Count(q => q.Output == "negative")) / (double)_data.Queries.Length;
        Assert.True(accuracy >= majority + 0.1, $"5-NN label agreement {accuracy:P0}, majority class {majority:P0}");
    }

    [Fact]
    public async Task Semantic_APoolSentenceFindsItselfFirst_AndThePoolIsEmbeddedOnce()
    {
        var counting = new CountingGenerator(_data.Generator);
        var selector = new SemanticSimilarityExampleSelector(_data.Pool, counting, k: 3);

        foreach (var example in _data.Pool.Take(10))
        {
            Assert.Equal(example.Input, (await selector.SelectAsync(example.Input))[0].Input);
        }

        Assert.Equal(_data.Pool.Length + 10, counting.Inputs);
    }

    [Fact]
    public async Task Mmr_PicksLessRedundantExamplesThanSimilarity()
    {
        var similarity = new SemanticSimilarityExampleSelector(_data.Pool, _data.Generator, k: 4);
        var mmr = new MaxMarginalRelevanceExampleSelector(_data.Pool, _data.Generator, k: 4, lambda: 0.3, fetchK: 20);

        double redundancySimilarity = 0, redundancyMmr = 0;
        foreach (var query in _data.Queries.Take(15))
        {
            var bySimilarity = await similarity.SelectAsync(query.Input);
            var byMmr = await mmr.SelectAsync(query.Input);
            Assert.Equal(bySimilarity[0], byMmr[0]);
            redundancySimilarity += MeanPairwise(bySimilarity);
            redundancyMmr += MeanPairwise(byMmr);
        }

        _output.WriteLine($"mean pairwise cosine of 4 picks over 15 queries: MMR(0.3) {redundancyMmr / 15:F3}, similarity {redundancySimilarity / 15:F3}");
        Assert.True(redundancyMmr < redundancySimilarity, $"mean pairwise cosine: MMR {redundancyMmr / 15:F3}, similarity {redundancySimilarity / 15:F3}");
    }

    private double MeanPairwise(IReadOnlyList<PromptExample> examples)
    {
        var total = 0.0;
        var pairs = 0;
        for (var i = 0; i < examples.Count; i++)
        {
            for (var j = i + 1; j < examples.Count; j++)
            {
                total += TensorPrimitives.CosineSimilarity(_data.Vector(examples[i].Input), _data.Vector(examples[j].Input));
                pairs++;
            }
        }

        return total / pairs;
    }

    public sealed class Fixture : IDisposable
    {
        private readonly OnnxEmbeddingGenerator _onnx = OnnxEmbeddingGenerator.CreateDefault();

        public Fixture()
        {
            var rows = File.ReadLines(EmbeddingTestData.PathOf("data/classification/sst2/test.tsv"))
                .Skip(1)
                .Select(l => l.Split('\t'))
                .Select(p => new PromptExample(p[0].Trim(), p[1] == "1" ? "positive" : "negative"))
                .ToArray();
            new Random(11).Shuffle(rows);
            Pool = rows[..160];
            Queries = rows[160..200];

            // Every sentence is embedded by the real model once, in one batch; the selectors under test then read
            // the model's vectors through a memo so the tests stay fast.
            var texts = Pool.Concat(Queries).Select(e => e.Input).Distinct().ToList();
            var embeddings = _onnx.GenerateAsync(texts).GetAwaiter().GetResult();
            Generator = new MemoGenerator(texts.Zip(embeddings, (t, e) => (t, e.Vector.ToArray())).ToDictionary(x => x.t, x => x.Item2, StringComparer.Ordinal), _onnx);
        }

        public PromptExample[] Pool { get; }

        public PromptExample[] Queries { get; }

        public IEmbeddingGenerator<string, Embedding<float>> Generator { get; }

        public float[] Vector(string text) => Generator.GenerateAsync([text]).GetAwaiter().GetResult()[0].Vector.ToArray();

        public void Dispose() => _onnx.Dispose();
    }

    private sealed class MemoGenerator(Dictionary<string, float[]> known, IEmbeddingGenerator<string, Embedding<float>> model) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (var value in values)
            {
                result.Add(known.TryGetValue(value, out var v) ? new Embedding<float>(v) : (await model.GenerateAsync([value], options, cancellationToken).ConfigureAwait(false))[0]);
            }

            return result;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => model.GetService(serviceType, serviceKey);

        public void Dispose()
        {
        }
    }

    private sealed class CountingGenerator(IEmbeddingGenerator<string, Embedding<float>> inner) : IEmbeddingGenerator<string, Embedding<float>>
    {
        private int _inputs;

        public int Inputs => _inputs;

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var list = values.ToList();
            Interlocked.Add(ref _inputs, list.Count);
            return inner.GenerateAsync(list, options, cancellationToken);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

        public void Dispose()
        {
        }
    }
}
