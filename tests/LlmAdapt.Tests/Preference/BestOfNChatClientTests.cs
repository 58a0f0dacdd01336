using System.Threading.Channels;
using LlmAdapt.Preference;
using LlmAdapt.Preference.Feedback;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Tests.Preference;

public sealed class BestOfNChatClientTests
{
    /// <summary>Answers the i-th call with the i-th scripted text (round robin), each reporting 10 input and 5 output tokens.</summary>
    private static ScriptedChatClient Scripted(params string[] answers)
    {
        var client = ScriptedChatClient.Cycle(answers);
        client.Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 };
        return client;
    }

    /// <summary>Holds every call of <paramref name="client"/> until the test releases it; each held call arrives on the channel.</summary>
    private static Channel<TaskCompletionSource> Hold(ScriptedChatClient client)
    {
        var entered = Channel.CreateUnbounded<TaskCompletionSource>();
        client.Gate = async () =>
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await entered.Writer.WriteAsync(release);
            await release.Task;
        };
        return entered;
    }

    /// <summary>Scores a candidate by how many times it says "good": a rule the tests can predict.</summary>
    private sealed class CountingScorer : IResponseScorer
    {
        public IReadOnlyList<ChatMessage>? Conversation { get; private set; }

        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default)
        {
            Conversation = conversation;
            return Task.FromResult<IReadOnlyList<double>>(candidates.Select(c => (double)c.Split("good").Length - 1).ToArray());
        }
    }

    [Fact]
    public async Task PicksTheHighestScore_AndReportsEveryScore()
    {
        var inner = Scripted("bad", "good good", "good", "good good good", "meh");
        var scorer = new CountingScorer();
        using var client = new ChatClientBuilder(inner).UseBestOfN(scorer, o => o.N = 5).Build();

        var response = await client.GetResponseAsync("Say something good");

        Assert.Equal("good good good", response.Text);
        Assert.Equal(5, inner.Calls.Count);
        var scores = Assert.IsType<double[]>(response.AdditionalProperties![BestOfNOptions.ScoresKey]);
        Assert.Equal(5, scores.Length);
        Assert.Equal(new[] { 0.0, 1, 2, 3, 0 }.OrderBy(x => x), scores.OrderBy(x => x));
        var chosen = (int)response.AdditionalProperties[BestOfNOptions.ChosenIndexKey]!;
        Assert.Equal(scores.Max(), scores[chosen]);
        Assert.Equal(75, response.Usage!.TotalTokenCount);
        Assert.Equal("Say something good", Assert.Single(scorer.Conversation!).Text);
    }

    [Fact]
    public async Task ConcurrencyBound_Holds_AndAllNCallsAreMade()
    {
        var inner = Scripted("a", "b good", "c", "d", "e", "f");
        var entered = Hold(inner);
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => { o.N = 6; o.MaxConcurrency = 2; }).Build();

        var pending = client.GetResponseAsync("hi");
        for (var i = 0; i < 6; i++)
        {
            var call = await entered.Reader.ReadAsync();
            call.SetResult();
        }

        var response = await pending;
        Assert.Equal(6, inner.Calls.Count);
        Assert.Equal(2, inner.MaxConcurrentCalls);
        Assert.Equal("b good", response.Text);
    }

    [Fact]
    public async Task Unbounded_AllCandidatesRunAtOnce()
    {
        var inner = Scripted("a", "b", "c", "d");
        var entered = Hold(inner);
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => { o.N = 4; o.MaxConcurrency = 4; }).Build();
        var pending = client.GetResponseAsync("hi");
        var held = new List<TaskCompletionSource>();
        for (var i = 0; i < 4; i++)
        {
            held.Add(await entered.Reader.ReadAsync());
        }

        Assert.Equal(4, inner.MaxConcurrentCalls);
        held.ForEach(h => h.SetResult());
        await pending;
    }

    [Fact]
    public async Task CandidatesGetTheConfiguredTemperature_UnlessTheCallerSetsOne()
    {
        var inner = Scripted("a");
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => { o.N = 2; o.Temperature = 0.7f; }).Build();
        await client.GetResponseAsync("hi");
        Assert.All(inner.Calls, c => Assert.Equal(0.7f, c.Options!.Temperature));
        await client.GetResponseAsync("hi", new ChatOptions { Temperature = 0.2f });
        Assert.Equal(0.2f, inner.Calls[^1].Options!.Temperature);
    }

    [Fact]
    public async Task Streaming_YieldsTheChosenResponse()
    {
        var inner = Scripted("x", "good");
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => o.N = 2).Build();
        var text = string.Concat(await client.GetStreamingResponseAsync("hi").Select(u => u.Text).ToListAsync());
        Assert.Equal("good", text);
    }

    [Fact]
    public async Task ScorerFromServices_RanksTheDefaultFourCandidates()
    {
        var scorer = new CountingScorer();
        var services = new ServiceCollection().AddSingleton<IResponseScorer>(scorer).BuildServiceProvider();
        var inner = Scripted("bad", "good", "good good", "meh", "good good good");
        using var client = new ChatClientBuilder(inner).UseBestOfN().Build(services);

        var response = await client.GetResponseAsync("Say something good");

        // The registered scorer saw the conversation and chose among the default four candidates (the fifth scripted
        // answer, the best, is never asked for).
        Assert.Equal("good good", response.Text);
        Assert.Equal(4, inner.Calls.Count);
        Assert.Equal("Say something good", Assert.Single(scorer.Conversation!).Text);
        Assert.Equal([0.0, 0, 1, 2], ((double[])response.AdditionalProperties![BestOfNOptions.ScoresKey]!).Order());
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(4, 0)]
    [InlineData(65, 4)]
    public void OutOfRangeOptions_ThrowWhenAdded(int n, int concurrency)
    {
        var builder = new ChatClientBuilder(Scripted("a"));
        var ex = Assert.Throws<InvalidOptionsException>(() => builder.UseBestOfN(new CountingScorer(), o => { o.N = n; o.MaxConcurrency = concurrency; }));
        Assert.Contains(nameof(BestOfNOptions), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordRankings_AppendsCandidatesAndScores_UnderTheChosenResponseId()
    {
        var folder = Directory.CreateTempSubdirectory("llmadapt-bon-");
        try
        {
            using var store = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = Path.Combine(folder.FullName, "feedback.jsonl") });
            var inner = Scripted("good", "bad", "good good", "good");
            using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => { o.N = 4; o.RecordRankings = true; }, store).Build();

            var response = await client.GetResponseAsync("Say something good");

            var record = Assert.Single(await store.ReadAllAsync().ToListAsync());
            Assert.Equal(response.ResponseId, record.ResponseId);
            Assert.False(string.IsNullOrEmpty(record.ResponseId));
            Assert.Equal("best-of-n", record.Source);
            Assert.Equal(FeedbackKind.Ranking, record.Kind);
            Assert.Equal("Say something good", record.Prompt);
            Assert.Equal(4, record.Responses.Count);
            Assert.Equal(record.Responses.Select(r => (double)r.Split("good").Length - 1), record.Scores!);

            // The duplicate "good" collapses; 3 distinct texts at 3 distinct scores make 3 pairs, the best first.
            var (_, pairs) = FeedbackExport.ToPairs(await store.ReadAllAsync().ToListAsync());
            Assert.Equal(3, pairs.Count);
            Assert.Equal("good good", pairs[0].Chosen);
            Assert.All(pairs, p => Assert.True(p.Margin > 0));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void RecordRankings_WithoutAStore_IsRefusedWhenThePipelineIsBuilt()
    {
        var services = new ServiceCollection().AddSingleton<IResponseScorer, CountingScorer>().BuildServiceProvider();
        var builder = new ChatClientBuilder(Scripted("a")).UseBestOfN(configure: o => o.RecordRankings = true);
        var ex = Assert.Throws<InvalidOperationException>(() => builder.Build(services));
        Assert.Contains(nameof(IFeedbackStore), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallersSeed_GivesEachCandidateItsOwnSeed()
    {
        var inner = Scripted("a", "b", "c");
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => o.N = 3).Build();
        await client.GetResponseAsync("hi", new ChatOptions { Seed = 40 });
        Assert.Equal([40L, 41L, 42L], inner.Calls.Select(c => c.Options!.Seed!.Value).Order());
    }
}
