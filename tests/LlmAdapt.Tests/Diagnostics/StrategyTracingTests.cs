using System.Diagnostics;
using LlmAdapt.Diagnostics;
using LlmAdapt.Preference;
using LlmAdapt.Prompting;
using LlmAdapt.Prompting.SelfConsistency;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Diagnostics;

/// <summary>Spans of the multi-call paths: one parent per strategy run with a child per model call, and best-of-n's.</summary>
public sealed class StrategyTracingTests
{
    [Fact]
    public async Task SelfConsistency_OneStrategySpan_ParentOfEachCallSpan_WithCallsAndUsage()
    {
        var client = ScriptedChatClient.Sequence(["Answer: 4", "Answer: 4", "Answer: 5"]);
        client.TokensPerCall = 30;
        var strategy = new SelfConsistencyPromptStrategy("sc", new SelfConsistencyPromptOptions { Samples = 3, MaxConcurrency = 1 }, TokenCounter.ForModel("gpt-4o"));

        var (_, spans) = await TraceAsync(() => strategy.ExecuteAsync(client, new PromptRequest { Task = "2 + 2?" }));

        var run = Assert.Single(spans, s => s.DisplayName == "prompt_strategy sc");
        var calls = spans.Where(s => s.DisplayName == "prompt_strategy.call sc").ToList();
        Assert.Equal(3, calls.Count);
        Assert.All(calls, c => Assert.Equal(run.SpanId, c.ParentSpanId));
        Assert.Equal(3, run.GetTagItem("llmadapt.prompt.model_calls"));
        Assert.Equal(90L, run.GetTagItem("gen_ai.usage.input_tokens"));
    }

    [Fact]
    public async Task BestOfN_OneSpan_WithACandidateChildEach_AScoringChild_AndTheChoice()
    {
        var inner = ScriptedChatClient.Cycle("bad", "good good", "good");
        using var client = new ChatClientBuilder(inner).UseBestOfN(new LengthScorer(), o => { o.N = 3; o.MaxConcurrency = 3; }).Build();

        var (response, spans) = await TraceAsync(() => client.GetResponseAsync("Say something good"));

        var choice = Assert.Single(spans, s => s.DisplayName == "best_of_n");
        var candidates = spans.Where(s => s.DisplayName == "best_of_n.candidate").ToList();
        Assert.Equal(3, candidates.Count);
        Assert.All(candidates, c => Assert.Equal(choice.SpanId, c.ParentSpanId));
        Assert.Equal([0, 1, 2], candidates.Select(c => (int)c.GetTagItem("llmadapt.best_of_n.index")!).Order());
        Assert.Equal(choice.SpanId, Assert.Single(spans, s => s.DisplayName == "best_of_n.score").ParentSpanId);
        Assert.Equal(3, choice.GetTagItem("llmadapt.best_of_n.candidates"));
        Assert.Equal("good good", response.Text);
        Assert.Equal(response.AdditionalProperties![BestOfNOptions.ChosenIndexKey], choice.GetTagItem("llmadapt.best_of_n.index"));
        Assert.Equal(9.0, choice.GetTagItem("llmadapt.best_of_n.score"));
    }

    /// <summary>Runs <paramref name="work"/> under a root span and returns LlmAdapt's spans of that trace.</summary>
    private static async Task<(T Result, List<Activity> Spans)> TraceAsync<T>(Func<Task<T>> work)
    {
        using var source = new ActivitySource("LlmAdapt.Tests.StrategyTracing");
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is LlmAdaptTelemetry.SourceName or "LlmAdapt.Tests.StrategyTracing",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (spans)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        ActivityTraceId trace;
        T result;
        using (var root = source.StartActivity("test")!)
        {
            trace = root.TraceId;
            result = await work();
        }

        lock (spans)
        {
            return (result, [.. spans.Where(s => s.TraceId == trace && s.Source.Name == LlmAdaptTelemetry.SourceName)]);
        }
    }

    /// <summary>Scores a candidate by its length: "good good" (9 characters) wins.</summary>
    private sealed class LengthScorer : IResponseScorer
    {
        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<double>>([.. candidates.Select(c => (double)c.Length)]);
    }
}
