using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace LlmAdapt.Prompting.Decomposition;

/// <summary>
/// Reads sub-questions from a model reply: a JSON object with a <c>sub_questions</c> array of strings (also accepted:
/// <c>subquestions</c>, <c>questions</c>, <c>sub-questions</c>), or a bare array of strings, possibly inside a Markdown code fence or after prose.
/// </summary>
internal static class SubQuestionParser
{
    private static readonly string[] s_names = ["sub_questions", "subquestions", "questions", "sub-questions"];

    public static bool TryParse(string reply, [NotNullWhen(true)] out List<string>? questions, [NotNullWhen(false)] out string? problem)
    {
        questions = null;
        if (string.IsNullOrWhiteSpace(reply))
        {
            problem = "the reply was empty";
            return false;
        }

        var start = reply.IndexOfAny(['{', '[']);
        if (start < 0)
        {
            problem = "the reply holds no JSON object or array";
            return false;
        }

        try
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(reply[start..]);
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            JsonElement? array = root.ValueKind == JsonValueKind.Array ? root : null;
            if (root.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in root.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.Array && s_names.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
                    {
                        array = property.Value;
                        break;
                    }
                }
            }

            if (array is null)
            {
                problem = "the JSON has no \"sub_questions\" array";
                return false;
            }

            var list = new List<string>();
            var index = 0;
            foreach (var item in array.Value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    problem = $"item {index} of \"sub_questions\" is a {item.ValueKind}, not a string";
                    return false;
                }

                if (item.GetString() is { } text && text.Trim().Length > 0)
                {
                    list.Add(text.Trim());
                }

                index++;
            }

            questions = list;
            problem = null;
            return true;
        }
        catch (JsonException ex)
        {
            problem = $"the JSON is malformed ({ex.Message.Split('.')[0]})";
            return false;
        }
    }
}
