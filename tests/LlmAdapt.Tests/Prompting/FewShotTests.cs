using System.Numerics.Tensors;
using LlmAdapt.Prompting;
using LlmAdapt.Prompting.FewShot;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Prompting;

/// <summary>
/// Selection on real SST-2 sentences: a pool of 200 and 40 held-out queries from test.tsv, shuffled with seed 7.
/// Embeddings come from <see cref="HashingEmbeddingGenerator"/> (a lexical double, 512 buckets); the ONNX MiniLM
/// generator runs the same selectors in LlmAdapt.Onnx.Tests (FewShotSelectionOnnxTests).
/// </summary>
public sealed class FewShotTests
{
    private static readonly HashingEmbeddingGenerator s_words = new(512);
    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");
    private static readonly PromptExample[] s_sample = Sst2Sample.Take(240, seed: 7);
    private static readonly PromptExample[] s_pool = s_sample[..200];
    private static readonly PromptExample[] s_queries = s_sample[200..];

    [Fact]
    public async Task Semantic_SelectsTheKMostSimilarByCosine_OnSst2()
    {
        var generator = new HashingEmbeddingGenerator(512);
        var selector = new SemanticSimilarityExampleSelector(s_pool, generator, k: 4);

        foreach (var query in s_queries)
        {
            var selected = await selector.SelectAsync(query.Input);

            var expected = s_pool
                .Select((e, i) => (e, i, score: Cosine(query.Input, e.Input)))
                .OrderByDescending(x => x.score).ThenBy(x => x.i)
                .Take(4).Select(x => x.e).ToList();
            Assert.Equal(expected, selected);
        }
    }

    [Fact]
    public async Task Semantic_ASentenceOfThePoolFindsItselfFirst()
    {
        var selector = new SemanticSimilarityExampleSelector(s_pool, new HashingEmbeddingGenerator(512), k: 3);
        foreach (var example in s_pool.Take(25))
        {
            Assert.Equal(example.Input, (await selector.SelectAsync(example.Input))[0].Input);
        }
    }

    [Fact]
    public async Task Selectors_EmbedThePoolOnceNotPerCall()
    {
        var generator = new HashingEmbeddingGenerator(512);
        var semantic = new SemanticSimilarityExampleSelector(s_pool, generator, k: 2);

        foreach (var query in s_queries.Take(5))
        {
            await semantic.SelectAsync(query.Input);
        }

        // One batch call for the pool, one call per query.
        Assert.Equal(1 + 5, generator.Calls);
        Assert.Equal(s_pool.Length + 5, generator.Inputs);
    }

    [Fact]
    public async Task Mmr_SkipsNearDuplicatesThatSimilarityPicks_OnSst2()
    {
        var query = s_queries[0].Input;
        var nearest = await new SemanticSimilarityExampleSelector(s_pool, new HashingEmbeddingGenerator(512), k: 1).SelectAsync(query);
        var copies = Enumerable.Range(0, 3).Select(i => nearest[0] with { Metadata = new Dictionary<string, string> { ["copy"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        PromptExample[] pool = [.. s_pool, .. copies];

        var bySimilarity = await new SemanticSimilarityExampleSelector(pool, new HashingEmbeddingGenerator(512), k: 4).SelectAsync(query);
        var byMmr = await new MaxMarginalRelevanceExampleSelector(pool, new HashingEmbeddingGenerator(512), k: 4, lambda: 0.5).SelectAsync(query);

        Assert.Single(bySimilarity.Select(e => e.Input).Distinct());
        Assert.Equal(4, byMmr.Select(e => e.Input).Distinct().Count());
        Assert.Equal(nearest[0].Input, byMmr[0].Input);
    }

    [Fact]
    public async Task Mmr_LambdaOneEqualsSimilarity_LambdaZeroIsMoreDiverse()
    {
        var query = s_queries[3].Input;
        var similarity = await new SemanticSimilarityExampleSelector(s_pool, new HashingEmbeddingGenerator(512), k: 5).SelectAsync(query);
        var relevanceOnly = await new MaxMarginalRelevanceExampleSelector(s_pool, new HashingEmbeddingGenerator(512), k: 5, lambda: 1).SelectAsync(query);
        var diverse = await new MaxMarginalRelevanceExampleSelector(s_pool, new HashingEmbeddingGenerator(512), k: 5, lambda: 0.1, fetchK: 50).SelectAsync(query);

        Assert.Equal(similarity, relevanceOnly);
        Assert.True(MeanPairwiseSimilarity(diverse) < MeanPairwiseSimilarity(similarity), "MMR with a low lambda should pick examples less alike.");
    }

    [Fact]
    public async Task TokenBudgetSelector_AddsExamplesUntilTheBudgetIsReached()
    {
        var selector = new TokenBudgetExampleSelector(new FixedExampleSelector(s_pool), s_counter, maxTokens: 300);

        var selected = await selector.SelectAsync("anything");

        var used = selected.Sum(Cost);
        Assert.True(used <= 300, $"{used} tokens used");
        Assert.True(used + Cost(s_pool[selected.Count]) > 300, "the next example would have fitted");
        Assert.Equal(s_pool.Take(selected.Count), selected);
    }

    [Fact]
    public async Task Strategy_SendsExamplesAsChatTurnsBeforeTheTask()
    {
        var examples = new[] { new PromptExample("great film", "positive"), new PromptExample("dull and long", "negative") };
        var strategy = new FewShotPromptStrategy("sentiment", new FewShotPromptOptions { Selector = new FixedExampleSelector(examples), Instructions = "Label the sentiment." }, s_counter);
        var client = ScriptedChatClient.Sequence("positive");

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = "a charming journey" });

        Assert.Equal("positive", result.Text);
        Assert.Equal(
            "[system] Label the sentiment.\n[user] great film\n[assistant] positive\n[user] dull and long\n[assistant] negative\n[user] a charming journey",
            client.Calls[0].Transcript);
    }

    [Fact]
    public async Task Strategy_DropsLeastUsefulExamplesToFitTheBudget_ThenRefuses()
    {
        var strategy = new FewShotPromptStrategy("s", new FewShotPromptOptions { Selector = new FixedExampleSelector(s_pool.Take(20)), Instructions = "Label it." }, s_counter);
        var client = ScriptedChatClient.Sequence("negative");

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = s_queries[0].Input, MaxPromptTokens = 200 });

        var sent = client.Calls[0].Messages;
        var shown = (IReadOnlyList<PromptExample>)result.AdditionalProperties![FewShotPromptStrategy.ExamplesKey]!;
        Assert.True(s_counter.CountTokens(sent) <= 200);
        Assert.InRange(shown.Count, 1, 19);
        Assert.Equal(s_pool.Take(shown.Count), shown);
        Assert.Equal(sent.Count, 2 + (2 * shown.Count));

        await Assert.ThrowsAsync<TokenBudgetExceededException>(() => strategy.ExecuteAsync(client, new PromptRequest { Task = s_queries[0].Input, MaxPromptTokens = 10 }));
        Assert.Single(client.Calls);
    }

    private static int Cost(PromptExample e) => s_counter.CountTokens(new ChatMessage(ChatRole.User, e.Input)) + s_counter.CountTokens(new ChatMessage(ChatRole.Assistant, e.Output));

    private static double Cosine(string a, string b) => TensorPrimitives.CosineSimilarity(s_words.Embed(a), s_words.Embed(b));

    private static double MeanPairwiseSimilarity(IReadOnlyList<PromptExample> examples)
    {
        var pairs = from i in Enumerable.Range(0, examples.Count) from j in Enumerable.Range(0, examples.Count) where i < j select Cosine(examples[i].Input, examples[j].Input);
        return pairs.Average();
    }
}
