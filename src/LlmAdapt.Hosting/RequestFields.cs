using System.Text.Json;

namespace LlmAdapt.Hosting;

/// <summary>
/// Fields a request carries beyond those this server reads: accepted when they ask for nothing (null, false, 0, empty,
/// or their documented default), refused with 400 otherwise, so no request is silently answered as something else.
/// </summary>
internal static class RequestFields
{
    public static void RefuseActive(Dictionary<string, JsonElement>? other, string? model, string prefix = "")
    {
        if (other is null)
        {
            return;
        }

        foreach (var (name, value) in other)
        {
            if (!IsInert(name, value))
            {
                var where = model is null ? "here" : $"with model '{model}'";
                throw OpenAIRequestException.Unsupported(prefix + name, $"Unsupported parameter: '{prefix}{name}' is not supported {where}.");
            }
        }
    }

    private static bool IsInert(string name, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.False => true,
        JsonValueKind.Number => value.TryGetDouble(out var number) && number == 0,
        JsonValueKind.Array => value.GetArrayLength() == 0 || (name == "modalities" && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String && e.GetString() == "text")),
        JsonValueKind.Object => !value.EnumerateObject().Any()
            || (name == "response_format" && value.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text")
            || name == "metadata",
        JsonValueKind.String => (name, value.GetString()) switch
        {
            ("tool_choice", "none" or "auto") => true,
            ("service_tier", "auto" or "default") => true,
            _ => false,
        },
        JsonValueKind.True => name is "parallel_tool_calls" or "store",
        _ => false,
    };
}
