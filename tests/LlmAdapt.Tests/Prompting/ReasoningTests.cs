using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Reasoning;
using LlmAdapt.Prompting.Templates;
using LlmAdapt.Tokens;

namespace LlmAdapt.Tests.Prompting;

public sealed class ReasoningTests
{
    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");

    [Fact]
    public async Task StepByStep_AppendsAnswerInstructionAndCue_AndExtractsTheMarkerLine()
    {
        var strategy = new StepByStepPromptStrategy("cot", new StepByStepPromptOptions { SystemPrompt = "You are careful.", Cue = ReasoningCues.DeepBreath }, s_counter);
        var client = ScriptedChatClient.Sequence("23 apples, minus 20, plus 6.\n23 - 20 = 3, 3 + 6 = 9.\nAnswer: 9");

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = "The cafeteria had 23 apples. They used 20 and bought 6 more. How many now?" });

        Assert.Equal("9", result.Text);
        Assert.True((bool)result.AdditionalProperties![StepByStepPromptStrategy.AnswerExtractedKey]!);
        Assert.Equal(
            "[system] You are careful.\n[user] The cafeteria had 23 apples. They used 20 and bought 6 more. How many now?\n\n" +
            ReasoningCues.AnswerLine + "\n\nTake a deep breath and work on this problem step-by-step.",
            client.Calls[0].Transcript);
    }

    [Fact]
    public async Task StepByStep_WithTemplate_AppendsToTheLastUserMessage()
    {
        var strategy = new StepByStepPromptStrategy("cot", new StepByStepPromptOptions
        {
            Template = PromptTemplate.Parse("Q: {{ task }} (units: {{ unit }})"),
            AnswerInstruction = null,
            Cue = "Think it through.",
        }, s_counter);
        var client = ScriptedChatClient.Sequence("Answer: 3 km");

        await strategy.ExecuteAsync(client, new PromptRequest { Task = "How far?", Inputs = new Dictionary<string, object?> { ["unit"] = "km" } });

        Assert.Equal("[user] Q: How far? (units: km)\n\nThink it through.", client.Calls[0].Transcript);
    }

    [Theory]
    [InlineData("I think it is 12 but I am not sure.")]
    [InlineData("")]
    [InlineData("Answer:")]
    public async Task StepByStep_NoAnswerMarker_ReturnsTheWholeReplyAndSaysSo(string reply)
    {
        var strategy = new StepByStepPromptStrategy("cot", new StepByStepPromptOptions(), s_counter);

        var result = await strategy.ExecuteAsync(ScriptedChatClient.Sequence(reply), new PromptRequest { Task = "q" });

        Assert.Equal(reply.Trim(), result.Text);
        Assert.False((bool)result.AdditionalProperties![StepByStepPromptStrategy.AnswerExtractedKey]!);
    }

    [Fact]
    public async Task StepByStep_OverBudget_RefusesBeforeCalling()
    {
        var strategy = new StepByStepPromptStrategy("cot", new StepByStepPromptOptions { MaxPromptTokens = 20 }, s_counter);
        var client = ScriptedChatClient.Sequence();

        await Assert.ThrowsAsync<TokenBudgetExceededException>(() => strategy.ExecuteAsync(client, new PromptRequest { Task = "a short question" }));
        Assert.Empty(client.Calls);
    }

    [Theory]
    [InlineData("Reasoning...\nAnswer: 42", "42")]
    [InlineData("Answer: 7\nmore text\n**Answer:** 8", "8")]
    [InlineData("answer:   Paris  ", "Paris")]
    public void MarkerExtractor_TakesTheLastMarkerLine(string text, string expected)
    {
        Assert.True(new MarkerAnswerExtractor().TryExtract(text, out var answer));
        Assert.Equal(expected, answer);
    }

    [Theory]
    [InlineData("so the total is 41 and then... The answer is 42.", "42")]
    [InlineData("The answer is 1. Wait. The answer is 2.", "2")]
    public void RegexExtractor_UsesTheNamedGroupOfTheLastMatch(string text, string expected)
    {
        var extractor = new RegexAnswerExtractor(@"the answer is (?<answer>-?\d+)");
        Assert.True(extractor.TryExtract(text, out var answer));
        Assert.Equal(expected, answer);
    }

    [Fact]
    public void RegexExtractor_CatastrophicPattern_TimesOutAsNoAnswer()
    {
        // Backtracking over 40 letters would take hours; the 20 ms match timeout turns it into "no answer" (not an exception).
        var extractor = new RegexAnswerExtractor("^(a+)+$", TimeSpan.FromMilliseconds(20));

        Assert.False(extractor.TryExtract(new string('a', 40) + "!", out var answer));
        Assert.Null(answer);
    }

    [Theory]
    [InlineData("Let me see.\n```json\n{\"answer\": \"blue\", \"confidence\": 0.9}\n```", "blue")]
    [InlineData("{\"Answer\": 12}", "12")]
    [InlineData("first {\"answer\": \"a\"} then {\"answer\": \"b\"} done", "b")]
    public void JsonExtractor_ReadsTheProperty(string text, string expected)
    {
        Assert.True(new JsonAnswerExtractor().TryExtract(text, out var answer));
        Assert.Equal(expected, answer);
    }

    [Theory]
    [InlineData("{\"answer\": \"blue\"")]
    [InlineData("{answer: blue}")]
    [InlineData("{\"result\": \"blue\"}")]
    [InlineData("{\"answer\": null}")]
    [InlineData("")]
    public void JsonExtractor_MalformedOrMissing_IsNoAnswer(string text)
    {
        Assert.False(new JsonAnswerExtractor().TryExtract(text, out _));
    }
}
