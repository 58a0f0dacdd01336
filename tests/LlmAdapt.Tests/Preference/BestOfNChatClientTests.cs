using System.Threading.Channels;
using LlmAdapt.Preference;
using LlmAdapt.Preference.Feedback;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Tests.Preference;

public sealed class BestOfNChatClientTests
{
    /// <summary>Answers the i-th call with the i-th scripted text; each call can be held until the test releases it.</summary>
    private sealed class ScriptedChatClient(string[] answers, bool hold = false) : IChatClient
    {
        private int _calls;
        private int _inFlight;

        public int Calls => _calls;

        public int MaxInFlight { get; private set; }

        public Channel<TaskCompletionSource> Entered { get; } = Channel.CreateUnbounded<TaskCompletionSource>();

        public List<ChatOptions?> SeenOptions { get; } = [];

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var index = Interlocked.Increment(ref _calls) - 1;
            var now = Interlocked.Increment(ref _inFlight);
            lock (SeenOptions)
            {
                MaxInFlight = Math.Max(MaxInFlight, now);
                SeenOptions.Add(options);
            }

            try
            {
                if (hold)
                {
                    var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    await Entered.Writer.WriteAsync(release, cancellationToken);
                    await release.Task.WaitAsync(cancellationToken);
                }

                return new ChatResponse(new ChatMessage(ChatRole.Assistant, answers[index % answers.Length]))
                {
                    Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 },
                };
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
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
        var inner = new ScriptedChatClient(["bad", "good good", "good", "good good good", "meh"]);
        var scorer = new CountingScorer();
        using var client = new ChatClientBuilder(inner).UseBestOfN(scorer, o => o.N = 5).Build();

        var response = await client.GetResponseAsync("Say something good");

        Assert.Equal("good good good", response.Text);
        Assert.Equal(5, inner.Calls);
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
        var inner = new ScriptedChatClient(["a", "b good", "c", "d", "e", "f"], hold: true);
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => { o.N = 6; o.MaxConcurrency = 2; }).Build();

        var pending = client.GetResponseAsync("hi");
        for (var i = 0; i < 6; i++)
        {
            var entered = await inner.Entered.Reader.ReadAsync();
            entered.SetResult();
        }

        var response = await pending;
        Assert.Equal(6, inner.Calls);
        Assert.Equal(2, inner.MaxInFlight);
        Assert.Equal("b good", response.Text);
    }

    [Fact]
    public async Task Unbounded_AllCandidatesRunAtOnce()
    {
        var inner = new ScriptedChatClient(["a", "b", "c", "d"], hold: true);
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => { o.N = 4; o.MaxConcurrency = 4; }).Build();
        var pending = client.GetResponseAsync("hi");
        var held = new List<TaskCompletionSource>();
        for (var i = 0; i < 4; i++)
        {
            held.Add(await inner.Entered.Reader.ReadAsync());
        }

        Assert.Equal(4, inner.MaxInFlight);
        held.ForEach(h => h.SetResult());
        await pending;
    }

    [Fact]
    public async Task CandidatesGetTheConfiguredTemperature_UnlessTheCallerSetsOne()
    {
        var inner = new ScriptedChatClient(["a"]);
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => { o.N = 2; o.Temperature = 0.7f; }).Build();
        await client.GetResponseAsync("hi");
        Assert.All(inner.SeenOptions, o => Assert.Equal(0.7f, o!.Temperature));
        await client.GetResponseAsync("hi", new ChatOptions { Temperature = 0.2f });
        Assert.Equal(0.2f, inner.SeenOptions[^1]!.Temperature);
    }

    [Fact]
    public async Task Streaming_YieldsTheChosenResponse()
    {
        var inner = new ScriptedChatClient(["x", "good"]);
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => o.N = 2).Build();
        var text = string.Concat(await client.GetStreamingResponseAsync("hi").Select(u => u.Text).ToListAsync());
        Assert.Equal("good", text);
    }

    [Fact]
    public void ScorerFromServices_IsResolvedWhenThePipelineIsBuilt()
    {
        var services = new ServiceCollection().AddSingleton<IResponseScorer, CountingScorer>().BuildServiceProvider();
        using var client = new ChatClientBuilder(new ScriptedChatClient(["a"])).UseBestOfN().Build(services);
        Assert.NotNull(client.GetService<BestOfNChatClient>());
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(4, 0)]
    [InlineData(65, 4)]
    public void OutOfRangeOptions_ThrowWhenAdded(int n, int concurrency)
    {
        var builder = new ChatClientBuilder(new ScriptedChatClient(["a"]));
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
            var inner = new ScriptedChatClient(["good", "bad", "good good", "good"]);
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
        var builder = new ChatClientBuilder(new ScriptedChatClient(["a"])).UseBestOfN(configure: o => o.RecordRankings = true);
        var ex = Assert.Throws<InvalidOperationException>(() => builder.Build(services));
        Assert.Contains(nameof(IFeedbackStore), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallersSeed_GivesEachCandidateItsOwnSeed()
    {
        var inner = new ScriptedChatClient(["a", "b", "c"]);
        using var client = new ChatClientBuilder(inner).UseBestOfN(new CountingScorer(), o => o.N = 3).Build();
        await client.GetResponseAsync("hi", new ChatOptions { Seed = 40 });
        Assert.Equal([40L, 41L, 42L], inner.SeenOptions.Select(o => o!.Seed!.Value).Order());
    }
}
