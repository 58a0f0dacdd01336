using System.Threading.Channels;
using LlmAdapt.Prompting;
using LlmAdapt.Prompting.SelfConsistency;
using LlmAdapt.Tokens;

namespace LlmAdapt.Tests.Prompting;

public sealed class SelfConsistencyTests
{
    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");

    [Fact]
    public async Task Execute_VotesOnNormalisedAnswers_AndReportsCountsAndAgreement()
    {
        string[] replies = ["10 x 100.\nAnswer: 1,000", "Hmm.\nAnswer: 998", "no idea", "So:\nAnswer: 1000.", "Thus\n**Answer:** 1000", "Answer: 998"];
        var client = ScriptedChatClient.Sequence(replies);
        client.TokensPerCall = 30;
        var strategy = new SelfConsistencyPromptStrategy("sc", new SelfConsistencyPromptOptions { Samples = 6, Temperature = 0.8f, Seed = 100, MaxConcurrency = 1 }, s_counter);

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = "How many?" });

        var votes = (SelfConsistencyVotes)result.AdditionalProperties![SelfConsistencyPromptStrategy.VotesKey]!;
        Assert.Equal("1,000", result.Text);
        Assert.Equal([new("1000", 3), new("998", 2)], votes.Counts);
        Assert.Equal(0.5, votes.Agreement);
        Assert.Equal(1, votes.Unanswered);
        Assert.Equal(6, result.ModelCalls);
        Assert.Equal(6 * 30, result.Usage!.InputTokenCount);
        Assert.All(client.Calls, c => Assert.Equal(0.8f, c.Options!.Temperature));
        Assert.Equal([100L, 101, 102, 103, 104, 105], client.Calls.Select(c => c.Options!.Seed!.Value));
        Assert.All(client.Calls, c => Assert.Equal(client.Calls[0].Transcript, c.Transcript));
    }

    [Fact]
    public async Task Execute_TieGoesToTheAnswerSeenFirst()
    {
        var client = ScriptedChatClient.Sequence("Answer: B", "Answer: A", "Answer: A", "Answer: B");
        var strategy = new SelfConsistencyPromptStrategy("sc", new SelfConsistencyPromptOptions { Samples = 4, MaxConcurrency = 1 }, s_counter);

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = "?" });

        Assert.Equal("B", result.Text);
    }

    [Fact]
    public async Task Execute_NoSampleAnswers_ReturnsEmptyWithZeroAgreement()
    {
        var client = ScriptedChatClient.Sequence("", "{ bad json", "Answer:");
        var strategy = new SelfConsistencyPromptStrategy("sc", new SelfConsistencyPromptOptions { Samples = 3 }, s_counter);

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = "?" });

        var votes = (SelfConsistencyVotes)result.AdditionalProperties![SelfConsistencyPromptStrategy.VotesKey]!;
        Assert.Equal(string.Empty, result.Text);
        Assert.Equal(0, votes.Agreement);
        Assert.Equal(3, votes.Unanswered);
        Assert.Empty(votes.Counts);
    }

    [Fact]
    public async Task Execute_RunsSamplesConcurrentlyUpToTheLimit()
    {
        // Every sample is held until the test releases it; held samples arrive on a channel in the order they start.
        var entered = Channel.CreateUnbounded<TaskCompletionSource>();
        var client = new ScriptedChatClient((_, _, _) => "Answer: x")
        {
            Gate = async () =>
            {
                var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await entered.Writer.WriteAsync(release);
                await release.Task;
            },
        };
        var strategy = new SelfConsistencyPromptStrategy("sc", new SelfConsistencyPromptOptions { Samples = 10, MaxConcurrency = 3 }, s_counter);

        var run = strategy.ExecuteAsync(client, new PromptRequest { Task = "?" });
        var held = new Queue<TaskCompletionSource>();
        for (var i = 0; i < 3; i++)
        {
            held.Enqueue(await entered.Reader.ReadAsync());
        }

        // Three samples are in flight and none has finished, so a fourth must not have started.
        Assert.Equal(3, client.Calls.Count);
        for (var started = 3; started < 10; started++)
        {
            held.Dequeue().SetResult();
            held.Enqueue(await entered.Reader.ReadAsync());
        }

        while (held.Count > 0)
        {
            held.Dequeue().SetResult();
        }

        var result = await run;

        Assert.Equal(3, client.MaxConcurrentCalls);
        Assert.Equal(10, result.ModelCalls);
        Assert.Equal(1.0, ((SelfConsistencyVotes)result.AdditionalProperties![SelfConsistencyPromptStrategy.VotesKey]!).Agreement);
    }

    [Fact]
    public async Task Execute_Cancelled_StopsWithoutFinishing()
    {
        var client = new ScriptedChatClient((_, _, _) => "Answer: x") { Gate = () => new TaskCompletionSource().Task };
        var strategy = new SelfConsistencyPromptStrategy("sc", new SelfConsistencyPromptOptions { Samples = 5, MaxConcurrency = 2 }, s_counter);
        using var cts = new CancellationTokenSource();

        var run = strategy.ExecuteAsync(client, new PromptRequest { Task = "?" }, cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(client.Calls.Count <= 2);
    }

    [Theory]
    [InlineData(" The answer  is\tYES. ", "the answer is yes")]
    [InlineData("\"Paris\"", "paris")]
    [InlineData("-12,345.50", "-12345.50")]
    [InlineData("1,2", "1,2")]
    public void Normalizer_Default(string input, string expected) => Assert.Equal(expected, AnswerNormalizer.Default(input));
}
