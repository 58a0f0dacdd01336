using LlmAdapt.Prompting;
using LlmAdapt.Prompting.FewShot;
using LlmAdapt.Prompting.Optimization;
using LlmAdapt.Prompting.SelfConsistency;
using LlmAdapt.Prompting.Templates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Tests.Prompting;

public sealed class PromptingServiceCollectionExtensionsTests
{
    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        configure(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public async Task SeveralStrategies_AreResolvedByName_AndRun()
    {
        using var provider = Build(s => s.AddLlmAdapt(llm => llm
            .AddPromptStrategyTemplate("summarise", o => o.Template = PromptTemplate.Parse("Summarise: {{ task }}"))
            .AddPromptStrategySelfConsistency("vote", o => o.Samples = 3)
            .AddPromptStrategyFewShot("sentiment", (o, _) => o.Selector = new FixedExampleSelector([new PromptExample("great", "positive")]))
            .AddPromptStrategyStepByStep("cot")
            .AddPromptStrategyLeastToMost("l2m", o => o.MaxModelCalls = 5)
            .AddPromptStrategyChain("chain", o => o.Steps.Add(new LlmAdapt.Prompting.Chains.ChainStep("only", PromptTemplate.Parse("{{ task }}"))))
            .AddPromptOptimizer("opt", o => { o.TaskDescription = "t"; o.SeedInstructions.Add("s"); })));
        provider.GetRequiredService<IStartupValidator>().Validate();

        var summarise = provider.GetRequiredKeyedService<IPromptStrategy>("summarise");
        var vote = provider.GetRequiredKeyedService<IPromptStrategy>("vote");
        Assert.IsType<TemplatePromptStrategy>(summarise);
        Assert.IsType<SelfConsistencyPromptStrategy>(vote);
        Assert.Equal(["summarise", "vote", "sentiment", "cot", "l2m", "chain"], new[] { "summarise", "vote", "sentiment", "cot", "l2m", "chain" }.Select(n => provider.GetRequiredKeyedService<IPromptStrategy>(n).Name));
        Assert.Equal("t", provider.GetRequiredKeyedService<PromptOptimizer>("opt").Options.TaskDescription);

        var client = ScriptedChatClient.Sequence("Answer: a", "Answer: a", "Answer: b");
        var result = await vote.ExecuteAsync(client, new PromptRequest { Task = "?" });
        Assert.Equal("a", result.Text);
        Assert.Equal(3, client.Calls.Count);
    }

    [Fact]
    public void InvalidOptions_FailAtStartUp_ListingEveryProblem()
    {
        using var provider = Build(s => s.AddLlmAdapt(llm => llm.AddPromptStrategySelfConsistency("vote", o => { o.Samples = 0; o.Temperature = 5; })));

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(ex.Failures, f => f.Contains("LlmAdapt:Prompting:vote", StringComparison.Ordinal) && f.Contains("Samples", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("Temperature", StringComparison.Ordinal));
    }

    [Fact]
    public void OptionsAreBoundFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmAdapt:Prompting:vote:Samples"] = "7",
            ["LlmAdapt:Prompting:vote:MaxConcurrency"] = "2",
        }).Build();
        using var provider = Build(s => s.AddLlmAdapt(configuration, llm => llm.AddPromptStrategySelfConsistency("vote")));

        var options = provider.GetRequiredService<IOptionsMonitor<SelfConsistencyPromptOptions>>().Get("vote");

        Assert.Equal(7, options.Samples);
        Assert.Equal(2, options.MaxConcurrency);
    }

    [Fact]
    public void SameNameTwice_IsRejected()
    {
        var services = new ServiceCollection();
        var ex = Assert.Throws<ArgumentException>(() => services.AddLlmAdapt(llm => llm.AddPromptStrategyStepByStep("cot").AddPromptStrategySelfConsistency("cot")));
        Assert.Contains("'cot'", ex.Message, StringComparison.Ordinal);
    }
}
