using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmAdapt.SampleHost;

/// <summary>
/// A host that composes only what it needs: shared options, token budgets and a resilient chat pipeline around
/// whatever <see cref="IChatClient"/> the host brings (here an echo client, so the sample runs offline).
/// </summary>
public static class SampleHost
{
    /// <summary>Builds the host the way an application would at start-up.</summary>
    /// <param name="settings">Configuration values (for example <c>LlmAdapt:MaxPromptTokens</c>).</param>
    /// <param name="innerClient">The model client; an offline echo client when <see langword="null"/>.</param>
    /// <returns>The built host; resolve services from <see cref="IHost.Services"/>.</returns>
    public static IHost Build(IDictionary<string, string?>? settings = null, IChatClient? innerClient = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.Services.AddLlmAdapt(builder.Configuration, llm => llm.AddResilience());
        builder.Services.AddChatClient(innerClient ?? new EchoChatClient())
            .UseTokenBudget()
            .UseLlmAdaptResilience();
        return builder.Build();
    }
}
