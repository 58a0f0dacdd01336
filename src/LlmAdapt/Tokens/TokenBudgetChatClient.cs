using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tokens;

/// <summary>
/// Middleware that holds every request to a <see cref="TokenBudget"/> before it reaches the model: it refuses or
/// trims by the budget's rule. Add it with <see cref="TokenBudgetChatClientBuilderExtensions.UseTokenBudget"/>.
/// </summary>
public sealed class TokenBudgetChatClient : DelegatingChatClient
{
    private readonly TokenBudget _budget;

    /// <summary>Initializes the middleware.</summary>
    /// <param name="innerClient">The client requests go to.</param>
    /// <param name="budget">The budget every request is held to.</param>
    public TokenBudgetChatClient(IChatClient innerClient, TokenBudget budget)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(budget);
        _budget = budget;
    }

    /// <inheritdoc />
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        => base.GetResponseAsync(_budget.Fit([.. messages]), options, cancellationToken);

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in base.GetStreamingResponseAsync(_budget.Fit([.. messages]), options, cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }
}
