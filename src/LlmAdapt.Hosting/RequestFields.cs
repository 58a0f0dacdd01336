using System.Text.Json;

namespace LlmAdapt.Hosting;

/// <summary>
/// Fields a request carries beyond those this server reads: accepted when they ask for nothing (null, false, 0, empty,
/// or their documented default), refused with 400 otherwise, so no request is silently answered as something else.
/// </summary>
internal static class RequestFields
{
    /// <summary>
    /// Checks a request's <c>model</c> and its other fields: 400 when the model is missing, 404 naming the
    /// <paramref name="kind"/> models served when it is not one of <paramref name="served"/>, then
    /// <see cref="RefuseActive"/> on <paramref name="other"/>.
    /// </summary>
    /// <returns>The model name.</returns>
    public static string RequireModel(string? model, IList<string> served, string kind, Dictionary<string, JsonElement>? other)
    {
        if (string.IsNullOrEmpty(model))
        {
            throw OpenAIRequestException.Invalid("model", "You must provide a model parameter.");
        }

        if (!served.Contains(model))
        {
            throw new OpenAIRequestException(404, $"The model '{model}' does not exist. {kind} models here: {string.Join(", ", served)}.", "model", "model_not_found");
        }

        RefuseActive(other, model);
        return model;
    }

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
