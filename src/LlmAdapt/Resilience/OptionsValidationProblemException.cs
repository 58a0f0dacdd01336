namespace LlmAdapt.Resilience;

/// <summary>Options failed validation; <see cref="Problems"/> names every option at fault and its allowed range.</summary>
public sealed class OptionsValidationProblemException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public OptionsValidationProblemException()
    {
        Problems = [];
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public OptionsValidationProblemException(string message)
        : base(message)
    {
        Problems = [message];
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public OptionsValidationProblemException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    /// <summary>Initializes a new instance listing the problems.</summary>
    /// <param name="problems">One line per problem.</param>
    public OptionsValidationProblemException(IReadOnlyList<string> problems)
        : base("Invalid options: " + string.Join(" ", problems ?? []))
    {
        Problems = problems ?? [];
    }

    /// <summary>Gets one line per problem.</summary>
    public IReadOnlyList<string> Problems { get; }
}
