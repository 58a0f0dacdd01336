using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Decomposition;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Prompting;

public sealed class LeastToMostTests
{
    private const string Task = "Amy climbs a 12-step slide in 4 minutes and slides down in 1. The park closes in 15 minutes. How many times can she slide?";

    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");

    private static LeastToMostPromptStrategy Strategy(LeastToMostPromptOptions? options = null) => new("l2m", options ?? new LeastToMostPromptOptions(), s_counter);

    [Fact]
    public async Task Execute_AnswersSubQuestionsInOrderWithEarlierAnswers_ThenCombines()
    {
        var client = ScriptedChatClient.Sequence(
            "```json\n{\"sub_questions\": [\"How long is one trip?\", \"How many trips fit in 15 minutes?\"]}\n```",
            "5 minutes",
            "3",
            "She can slide 3 times.");

        var result = await Strategy().ExecuteAsync(client, new PromptRequest { Task = Task });

        Assert.Equal("She can slide 3 times.", result.Text);
        Assert.Equal(4, result.ModelCalls);
        Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, LeastToMostPromptStrategy.DecomposeFormat, 5, Task), client.Calls[0].LastUser);
        Assert.Equal($"Overall problem: {Task}\n\nAnswer this question concisely: How long is one trip?", client.Calls[1].LastUser);
        Assert.Equal($"Overall problem: {Task}\n\nAnswered so far:\nQ: How long is one trip?\nA: 5 minutes\n\nAnswer this question concisely: How many trips fit in 15 minutes?", client.Calls[2].LastUser);
        Assert.Equal(
            $"Problem: {Task}\n\nIts sub-questions and their answers:\nQ: How long is one trip?\nA: 5 minutes\nQ: How many trips fit in 15 minutes?\nA: 3\n\nUsing these answers, solve the problem and give the final answer.",
            client.Calls[3].LastUser);
        var subs = (IReadOnlyList<SubQuestionAnswer>)result.AdditionalProperties![LeastToMostPromptStrategy.SubQuestionsKey]!;
        Assert.Equal(["5 minutes", "3"], subs.Select(s => s.Answer));
        var schema = Assert.IsType<ChatResponseFormatJson>(client.Calls[0].Options!.ResponseFormat);
        Assert.Contains("\"sub_questions\"", schema.Schema!.Value.GetRawText(), StringComparison.Ordinal);
        Assert.All(client.Calls.Skip(1), c => Assert.Null(c.Options?.ResponseFormat));
    }

    [Fact]
    public async Task Execute_MalformedJson_IsRepairedWithTheProblemStated()
    {
        var client = ScriptedChatClient.Sequence("{\"sub_questions\": [\"a?\", ", "{\"sub_questions\": [\"a?\"]}", "A", "final");

        var result = await Strategy().ExecuteAsync(client, new PromptRequest { Task = "q" });

        Assert.Equal("final", result.Text);
        var repair = client.Calls[1].Messages;
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User], repair.Select(m => m.Role));
        Assert.Equal("{\"sub_questions\": [\"a?\", ", repair[1].Text);
        Assert.StartsWith("Your reply could not be read: the JSON is malformed", repair[2].Text, StringComparison.Ordinal);
        Assert.Equal(0, result.AdditionalProperties![LeastToMostPromptStrategy.UnreadableDecompositionsKey]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("I would first find the time per trip.")]
    [InlineData("{\"sub_questions\": [1, 2]}")]
    [InlineData("{\"steps\": [\"a\"]}")]
    public async Task Execute_StillUnreadableAfterRepair_AnswersDirectly(string bad)
    {
        var client = ScriptedChatClient.Sequence(bad, bad, "direct answer");

        var result = await Strategy(new LeastToMostPromptOptions { MaxRepairAttempts = 1 }).ExecuteAsync(client, new PromptRequest { Task = "q" });

        Assert.Equal("direct answer", result.Text);
        Assert.Equal(3, result.ModelCalls);
        Assert.Equal("[user] q", client.Calls[2].Transcript);
        Assert.Equal(1, result.AdditionalProperties![LeastToMostPromptStrategy.UnreadableDecompositionsKey]);
    }

    [Fact]
    public async Task Execute_NoSubQuestions_AnswersDirectly()
    {
        var client = ScriptedChatClient.Sequence("{\"sub_questions\": []}", "4");

        var result = await Strategy().ExecuteAsync(client, new PromptRequest { Task = "2+2?" });

        Assert.Equal("4", result.Text);
        Assert.Equal(2, result.ModelCalls);
    }

    [Fact]
    public async Task Execute_TooManySubQuestions_KeepsTheFirstMax()
    {
        var client = ScriptedChatClient.Sequence("[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]", "A", "B", "done");

        var result = await Strategy(new LeastToMostPromptOptions { MaxSubQuestions = 2 }).ExecuteAsync(client, new PromptRequest { Task = "q" });

        Assert.Equal("done", result.Text);
        Assert.Equal(4, result.ModelCalls);
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 7)]
    [InlineData(3, 10)]
    [InlineData(3, 25)]
    [InlineData(4, 1)]
    public async Task Execute_AModelThatAlwaysDecomposes_StaysWithinDepthAndCallBudget(int maxDepth, int maxCalls)
    {
        var client = new ScriptedChatClient((messages, _, i) => messages[^1].Text.StartsWith("Break the problem", StringComparison.Ordinal)
            ? "{\"sub_questions\": [\"x?\", \"y?\", \"z?\"]}"
            : $"answer {i}");

        var result = await Strategy(new LeastToMostPromptOptions { MaxDepth = maxDepth, MaxModelCalls = maxCalls, MaxSubQuestions = 3 })
            .ExecuteAsync(client, new PromptRequest { Task = "root" });

        Assert.InRange(result.ModelCalls, 1, maxCalls);
        Assert.Equal(client.Calls.Count, result.ModelCalls);
        Assert.Equal($"answer {result.ModelCalls - 1}", result.Text);
        Assert.True(Depth((IReadOnlyList<SubQuestionAnswer>)result.AdditionalProperties![LeastToMostPromptStrategy.SubQuestionsKey]!) <= maxDepth);
    }

    private static int Depth(IReadOnlyList<SubQuestionAnswer> subs) => subs.Count == 0 ? 0 : 1 + subs.Max(s => Depth(s.SubQuestions));
}
