using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace LlmAdapt.Prompting.Reasoning;

/// <summary>
/// Reads the answer from a JSON object in the reply (bare, or inside a Markdown code fence, possibly after some
/// reasoning): the value of one property, by default <c>answer</c>. Strings are returned as they are; numbers and
/// booleans as their JSON text. Text that holds no such object, or invalid JSON, is no answer.
/// </summary>
public sealed class JsonAnswerExtractor : IAnswerExtractor
{
    /// <summary>Initializes the extractor.</summary>
    /// <param name="propertyName">The property holding the answer (matched case-insensitively).</param>
    public JsonAnswerExtractor(string propertyName = "answer")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(propertyName);
        PropertyName = propertyName;
    }

    /// <summary>Gets the property holding the answer.</summary>
    public string PropertyName { get; }

    /// <inheritdoc />
    public bool TryExtract(string text, [NotNullWhen(true)] out string? answer)
    {
        answer = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        // Try every '{' from the last back: the answer object usually closes the reply.
        for (var start = text.LastIndexOf('{'); start >= 0; start = start == 0 ? -1 : text.LastIndexOf('{', start - 1))
        {
            if (TryRead(text.AsSpan(start), out answer))
            {
                return true;
            }
        }

        return false;
    }

    private bool TryRead(ReadOnlySpan<char> candidate, [NotNullWhen(true)] out string? answer)
    {
        answer = null;
        var bytes = System.Text.Encoding.UTF8.GetBytes(candidate.ToArray());
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        try
        {
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!string.Equals(property.Name, PropertyName, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var value = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString(),
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                    _ => null,
                };
                if (!string.IsNullOrWhiteSpace(value))
                {
                    answer = value.Trim();
                    return true;
                }
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
