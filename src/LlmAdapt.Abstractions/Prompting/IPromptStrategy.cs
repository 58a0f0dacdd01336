using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting;

/// <summary>
/// Turns a task and its inputs into messages for a chat model and, where the strategy needs several calls
/// (chains, decomposition, self-consistency), drives the <see cref="IChatClient"/> itself.
/// </summary>
public interface IPromptStrategy
{
    /// <summary>Gets the name the strategy is registered under, for logs and keyed DI.</summary>
    string Name { get; }

    /// <summary>Runs the strategy against <paramref name="chatClient"/>.</summary>
    /// <param name="chatClient">The model to call; every call the strategy makes goes through it.</param>
    /// <param name="request">The task, its inputs and the options for the model calls.</param>
    /// <param name="cancellationToken">Stops the strategy between and during model calls.</param>
    /// <returns>The final answer, the messages that produced it and the number of calls made.</returns>
    Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default);
}
