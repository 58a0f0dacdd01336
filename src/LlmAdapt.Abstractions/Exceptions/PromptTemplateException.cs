namespace LlmAdapt.Prompting.Templates;

/// <summary>
/// A prompt template does not parse, or a render is missing a variable the template uses; the message names the
/// template, the message and the variables.
/// </summary>
public sealed class PromptTemplateException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public PromptTemplateException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public PromptTemplateException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public PromptTemplateException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance for variables a render did not supply.</summary>
    /// <param name="templateName">The template's name.</param>
    /// <param name="missingVariables">The variables the template uses that were not supplied.</param>
    public PromptTemplateException(string templateName, IReadOnlyList<string> missingVariables)
        : base($"Template '{templateName}' uses {(missingVariables.Count == 1 ? "a variable" : "variables")} the call did not supply: {string.Join(", ", missingVariables)}.")
    {
        TemplateName = templateName;
        MissingVariables = missingVariables;
    }

    /// <summary>Gets the template's name, when known.</summary>
    public string? TemplateName { get; }

    /// <summary>Gets the variables the template uses that the call did not supply (empty for a parse error).</summary>
    public IReadOnlyList<string> MissingVariables { get; } = [];
}
