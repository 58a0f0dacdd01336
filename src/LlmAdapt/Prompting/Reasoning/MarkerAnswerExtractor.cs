using System.Diagnostics.CodeAnalysis;

namespace LlmAdapt.Prompting.Reasoning;

/// <summary>
/// Finds the last line that starts with a marker (by default <c>Answer:</c>, any case, after optional Markdown
/// emphasis such as <c>**Answer:**</c>) and returns the rest of that line; a marker line with nothing after it is passed over for the one above it (no such
/// line: no answer).
/// </summary>
public sealed class MarkerAnswerExtractor : IAnswerExtractor
{
    /// <summary>Initializes the extractor.</summary>
    /// <param name="marker">The text that starts the answer line.</param>
    public MarkerAnswerExtractor(string marker = "Answer:")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(marker);
        Marker = marker.Trim();
    }

    /// <summary>Gets the marker.</summary>
    public string Marker { get; }

    /// <inheritdoc />
    public bool TryExtract(string text, [NotNullWhen(true)] out string? answer)
    {
        answer = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            var line = lines[i].Trim().TrimStart('*', '_', '#', ' ', '>');
            if (!line.StartsWith(Marker, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var rest = line[Marker.Length..].Trim().Trim('*', '_').Trim();
            if (rest.Length > 0)
            {
                answer = rest;
                return true;
            }
        }

        return false;
    }
}
