using LlmAdapt.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.AI;

/// <summary>Adds <see cref="TokenBudgetChatClient"/> to a chat pipeline.</summary>
public static class TokenBudgetChatClientBuilderExtensions
{
    /// <summary>
    /// Holds every request to a token budget. Without <paramref name="budget"/>, a <see cref="TokenBudget"/> is
    /// resolved from the services when the pipeline is built.
    /// </summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="budget">The budget, or <see langword="null"/> to resolve one from the services.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ChatClientBuilder UseTokenBudget(this ChatClientBuilder builder, TokenBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new TokenBudgetChatClient(inner, budget ?? services.GetRequiredService<TokenBudget>()));
    }
}
