namespace LlmAdapt.Prompting.Internal;

/// <summary>The variables a request gives a template: <c>task</c> and the request's inputs.</summary>
internal static class TemplateVariables
{
    public const string Task = "task";

    public static Dictionary<string, object?> From(PromptRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Task, nameof(request));
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal) { [Task] = request.Task };
        foreach (var (key, value) in request.Inputs)
        {
            if (!variables.TryAdd(key, value))
            {
                throw new ArgumentException($"Input '{key}' clashes with the request's task; the task is always the variable '{Task}'.", nameof(request));
            }
        }

        return variables;
    }
}
