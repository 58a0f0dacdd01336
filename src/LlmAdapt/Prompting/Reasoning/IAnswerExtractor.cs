using System.Diagnostics.CodeAnalysis;

namespace LlmAdapt.Prompting.Reasoning;

/// <summary>Pulls the final answer out of a model's reasoning. Never throws on malformed text: it returns <see langword="false"/>.</summary>
public interface IAnswerExtractor
{
    /// <summary>Tries to find the final answer in <paramref name="text"/>.</summary>
    /// <param name="text">The model's reply.</param>
    /// <param name="answer">The answer, trimmed, when found.</param>
    /// <returns>Whether an answer was found.</returns>
    bool TryExtract(string text, [NotNullWhen(true)] out string? answer);
}
