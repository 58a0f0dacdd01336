namespace LlmAdapt.Prompting.Chains;

/// <summary>
/// A chain is not well formed: a step uses an output no earlier step produces, a name is repeated, or a step uses a
/// variable the request does not supply. Raised before any model call; the message names the step and the variable.
/// </summary>
public sealed class ChainDefinitionException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public ChainDefinitionException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public ChainDefinitionException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ChainDefinitionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance naming the step and the variables.</summary>
    /// <param name="stepName">The step at fault.</param>
    /// <param name="variables">The variables it cannot have.</param>
    /// <param name="problem">Why.</param>
    public ChainDefinitionException(string stepName, IReadOnlyList<string> variables, string problem)
        : base($"Chain step '{stepName}' uses {string.Join(", ", variables)}: {problem}")
    {
        StepName = stepName;
        Variables = variables;
    }

    /// <summary>Gets the step at fault, when there is one.</summary>
    public string? StepName { get; }

    /// <summary>Gets the variables at fault.</summary>
    public IReadOnlyList<string> Variables { get; } = [];
}
