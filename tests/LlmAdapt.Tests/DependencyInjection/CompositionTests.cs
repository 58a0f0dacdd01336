using LlmAdapt.DependencyInjection;
using LlmAdapt.Resilience;
using LlmAdapt.SampleHost;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Tests.DependencyInjection;

public sealed class CompositionTests
{
    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        configure(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public async Task SampleHost_ComposesOnlyWhatItNeeds_AndAnswers()
    {
        using var host = SampleHost.SampleHost.Build(new Dictionary<string, string?> { ["LlmAdapt:MaxPromptTokens"] = "64" });
        await host.StartAsync();

        var client = host.Services.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync("hello");
        Assert.Equal("echo: hello", response.Text);

        Assert.NotNull(client.GetService<ResilientChatClient>());
        Assert.NotNull(client.GetService<TokenBudgetChatClient>());
        Assert.Equal(64, host.Services.GetRequiredService<TokenBudget>().MaxTokens);
        await host.StopAsync();
    }

    [Fact]
    public async Task SampleHost_TokenBudgetFromConfiguration_RefusesLongPrompts()
    {
        using var host = SampleHost.SampleHost.Build(new Dictionary<string, string?> { ["LlmAdapt:MaxPromptTokens"] = "12" });
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IChatClient>();
        await Assert.ThrowsAsync<TokenBudgetExceededException>(() => client.GetResponseAsync(new string('x', 400)));
        await host.StopAsync();
    }

    [Fact]
    public void AddLlmAdapt_ResolvesFromAValidatingProvider()
    {
        using var provider = Build(s => s.AddLlmAdapt(b => b.AddResilience()));
        using var scope = provider.CreateScope();
        Assert.Equal("gpt-4o", scope.ServiceProvider.GetRequiredService<TokenCounter>().Name);
        Assert.Equal(8192, scope.ServiceProvider.GetRequiredService<TokenBudget>().MaxTokens);
        Assert.Equal(3, scope.ServiceProvider.GetRequiredService<IOptions<LlmAdaptResilienceOptions>>().Value.MaxRetryAttempts);
    }

    [Fact]
    public void RegisteringTwice_DoesNotDuplicate()
    {
        var services = new ServiceCollection();
        services.AddLlmAdapt(b => b.AddResilience());
        var count = services.Count;
        services.AddLlmAdapt(b => b.AddResilience());
        Assert.Equal(count, services.Count);
        Assert.Single(services, d => d.ServiceType == typeof(TokenCounter));
    }

    [Fact]
    public void Options_AreBoundFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmAdapt:TokenizerModel"] = "gpt-4",
            ["LlmAdapt:MaxPromptTokens"] = "1000",
            ["LlmAdapt:Resilience:MaxRetryAttempts"] = "5",
            ["LlmAdapt:Resilience:AttemptTimeout"] = "00:00:20",
        }).Build();
        using var provider = Build(s => s.AddLlmAdapt(configuration, b => b.AddResilience()));

        Assert.Equal("gpt-4", provider.GetRequiredService<TokenCounter>().Name);
        Assert.Equal(1000, provider.GetRequiredService<TokenBudget>().MaxTokens);
        var resilience = provider.GetRequiredService<IOptions<LlmAdaptResilienceOptions>>().Value;
        Assert.Equal(5, resilience.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(20), resilience.AttemptTimeout);
    }

    [Fact]
    public async Task InvalidOptions_FailAtStartUp_NamingOptionAndRange()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmAdapt:MaxPromptTokens"] = "0",
            ["LlmAdapt:Resilience:MaxRetryAttempts"] = "50",
            ["LlmAdapt:Resilience:FailureRatio"] = "3",
        });
        builder.Services.AddLlmAdapt(builder.Configuration, b => b.AddResilience());
        using var host = builder.Build();

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.NotEmpty(Flatten(ex));
        var all = string.Join(" | ", Flatten(ex).SelectMany(e => e.Failures));
        Assert.Contains("MaxPromptTokens", all, StringComparison.Ordinal);
        Assert.Contains("10000000", all, StringComparison.Ordinal);
        Assert.Contains("MaxRetryAttempts", all, StringComparison.Ordinal);
        Assert.Contains("20", all, StringComparison.Ordinal);
        Assert.Contains("FailureRatio", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownTokenizerModel_FailsAtStartUp()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLlmAdapt(b => b.Configure(o => o.TokenizerModel = "not-a-model"));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("TokenizerModel", ex.Message, StringComparison.Ordinal);
    }

    private static IEnumerable<OptionsValidationException> Flatten(Exception ex) => ex switch
    {
        OptionsValidationException o => [o],
        AggregateException a => a.InnerExceptions.SelectMany(Flatten),
        _ => [],
    };
}
