using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Chains;
using LlmAdapt.Prompting.Templates;
using LlmAdapt.Tokens;

namespace LlmAdapt.Tests.Prompting;

public sealed class ChainTests
{
    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");

    private static ChainPromptStrategy Chain(params ChainStep[] steps)
    {
        var options = new ChainPromptOptions();
        foreach (var step in steps)
        {
            options.Steps.Add(step);
        }

        return new ChainPromptStrategy("chain", options, s_counter);
    }

    [Fact]
    public async Task Execute_EachStepSeesTheTaskInputsAndEarlierOutputs()
    {
        var chain = Chain(
            new ChainStep("facts", PromptTemplate.Parse("List the facts in: {{ task }}")),
            new ChainStep("draft", PromptTemplate.Parse("Write a {{ tone }} summary of these facts:\n{{ facts }}")),
            new ChainStep("final", PromptTemplate.Parse("Shorten to one line: {{ draft }}", system: "Facts were: {{ facts }}")));
        var client = ScriptedChatClient.Sequence("F1; F2", "A friendly summary.", "Short.");

        var result = await chain.ExecuteAsync(client, new PromptRequest { Task = "the report", Inputs = new Dictionary<string, object?> { ["tone"] = "friendly" } });

        Assert.Equal("Short.", result.Text);
        Assert.Equal(3, result.ModelCalls);
        Assert.Equal("[user] List the facts in: the report", client.Calls[0].Transcript);
        Assert.Equal("[user] Write a friendly summary of these facts:\nF1; F2", client.Calls[1].Transcript);
        Assert.Equal("[system] Facts were: F1; F2\n[user] Shorten to one line: A friendly summary.", client.Calls[2].Transcript);
        var outputs = (IReadOnlyDictionary<string, string>)result.AdditionalProperties![ChainPromptStrategy.StepOutputsKey]!;
        Assert.Equal(["facts", "draft", "final"], outputs.Keys);
    }

    [Fact]
    public void Build_StepUsingALaterStepsOutput_IsRejected()
    {
        var ex = Assert.Throws<ChainDefinitionException>(() => Chain(
            new ChainStep("draft", PromptTemplate.Parse("Improve {{ review }}")),
            new ChainStep("review", PromptTemplate.Parse("Review {{ task }}"))));

        Assert.Equal("draft", ex.StepName);
        Assert.Equal(["review"], ex.Variables);
    }

    [Fact]
    public async Task Execute_StepUsingAnUnknownOutput_IsRejectedBeforeAnyCall()
    {
        var chain = Chain(
            new ChainStep("one", PromptTemplate.Parse("{{ task }}")),
            new ChainStep("two", PromptTemplate.Parse("{{ one }} and {{ summary }}")));
        var client = ScriptedChatClient.Sequence("a", "b");

        var ex = await Assert.ThrowsAsync<ChainDefinitionException>(() => chain.ExecuteAsync(client, new PromptRequest { Task = "t" }));

        Assert.Equal("two", ex.StepName);
        Assert.Equal(["summary"], ex.Variables);
        Assert.Empty(client.Calls);
    }

    [Fact]
    public void Build_DuplicateOrBadNames_AreRejected()
    {
        Assert.Throws<ChainDefinitionException>(() => Chain(new ChainStep("a", PromptTemplate.Parse("x")), new ChainStep("a", PromptTemplate.Parse("y"))));
        Assert.Throws<ChainDefinitionException>(() => Chain(new ChainStep("1st", PromptTemplate.Parse("x"))));
        Assert.Throws<ChainDefinitionException>(() => Chain(new ChainStep("task", PromptTemplate.Parse("x"))));
        Assert.Throws<InvalidOptionsException>(() => Chain());
    }

    [Fact]
    public async Task Execute_EmptyStepOutput_IsPassedOnAsEmptyText()
    {
        var chain = Chain(new ChainStep("a", PromptTemplate.Parse("{{ task }}")), new ChainStep("b", PromptTemplate.Parse("[{{ a }}]")));
        var client = ScriptedChatClient.Sequence("", "done");

        var result = await chain.ExecuteAsync(client, new PromptRequest { Task = "t" });

        Assert.Equal("[user] []", client.Calls[1].Transcript);
        Assert.Equal("done", result.Text);
    }

    [Fact]
    public async Task Execute_StepOverBudget_StopsTheChainAtThatStep()
    {
        var chain = new ChainPromptStrategy("c", new ChainPromptOptions { MaxPromptTokens = 40, Steps = { new ChainStep("a", PromptTemplate.Parse("{{ task }}")), new ChainStep("b", PromptTemplate.Parse("Expand: {{ a }}")) } }, s_counter);
        var client = ScriptedChatClient.Sequence(string.Concat(Enumerable.Repeat("long output ", 100)), "unused");

        await Assert.ThrowsAsync<TokenBudgetExceededException>(() => chain.ExecuteAsync(client, new PromptRequest { Task = "t" }));
        Assert.Single(client.Calls);
    }
}
