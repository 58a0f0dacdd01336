using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting;

/// <summary>What a prompt strategy is asked to do.</summary>
public sealed record PromptRequest
{
    /// <summary>Gets the task or question, in the user's words. Templates see it as the variable <c>task</c>.</summary>
    public required string Task { get; init; }

    /// <summary>Gets named inputs a template or chain step may use. Values are inserted as text, never as template code.</summary>
    public IReadOnlyDictionary<string, object?> Inputs { get; init; } = new Dictionary<string, object?>();

    /// <summary>Gets the options passed to every model call, or <see langword="null"/> for the client's defaults.</summary>
    public ChatOptions? ChatOptions { get; init; }

    /// <summary>Gets the most tokens the prompt of any single call may use, or <see langword="null"/> for no limit.</summary>
    public int? MaxPromptTokens { get; init; }
}
