using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting;

/// <summary>What a prompt strategy produced.</summary>
public sealed record PromptResult
{
    /// <summary>Gets the final answer: the extracted answer where the strategy extracts one, else the model's text.</summary>
    public required string Text { get; init; }

    /// <summary>Gets the messages of the call that produced the final answer.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>Gets the model's response to that call, when there was one.</summary>
    public ChatResponse? Response { get; init; }

    /// <summary>Gets how many model calls the strategy made in all.</summary>
    public int ModelCalls { get; init; }

    /// <summary>Gets the token usage summed over every call, when the client reported it.</summary>
    public UsageDetails? Usage { get; init; }

    /// <summary>Gets strategy-specific details (vote counts, intermediate step outputs, optimisation history).</summary>
    public AdditionalPropertiesDictionary? AdditionalProperties { get; init; }
}
