using Microsoft.Extensions.AI;

namespace LlmAdapt.Training;

/// <summary>
/// One labelled example. Continued pre-training reads <see cref="Input"/> as plain text; instruction tuning reads
/// <see cref="Input"/> as the prompt and <see cref="Output"/> as the answer (or <see cref="Messages"/> as a dialogue);
/// a task head reads <see cref="Input"/> as the text and <see cref="Label"/> as its class.
/// </summary>
public sealed record TrainingExample
{
    /// <summary>Gets the text, prompt or instruction.</summary>
    public required string Input { get; init; }

    /// <summary>Gets the expected answer, for instruction tuning.</summary>
    public string? Output { get; init; }

    /// <summary>Gets the class label, for classification heads.</summary>
    public string? Label { get; init; }

    /// <summary>Gets a whole dialogue, for chat-format instruction tuning; loss falls on the assistant turns.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    /// <summary>Gets the example's weight in the loss. Must be positive; the default is 1.</summary>
    public double Weight { get; init; } = 1.0;

    /// <summary>Gets where the example came from (file and line), used in error messages.</summary>
    public string? Origin { get; init; }
}
