namespace LlmAdapt;

/// <summary>
/// An options object failed validation; <see cref="Problems"/> lists every problem found (not only the first), each
/// naming the option at fault and its allowed range. Thrown when a component is built from options directly; at host
/// start-up the same lines arrive as the failures of the options framework's <c>OptionsValidationException</c>.
/// </summary>
public sealed class InvalidOptionsException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public InvalidOptionsException()
    {
        OptionsName = string.Empty;
        Problems = [];
    }

    /// <summary>Initializes a new instance with a message, taken as the one problem.</summary>
    /// <param name="message">The message.</param>
    public InvalidOptionsException(string message)
        : base(message)
    {
        OptionsName = string.Empty;
        Problems = [message];
    }

    /// <summary>Initializes a new instance with a message, taken as the one problem, and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public InvalidOptionsException(string message, Exception? innerException)
        : base(message, innerException)
    {
        OptionsName = string.Empty;
        Problems = [message];
    }

    /// <summary>Initializes a new instance listing every problem of one options object.</summary>
    /// <param name="optionsName">The options at fault, for example <c>ChunkerOptions</c> or <c>LlmAdapt:Retrieval</c>.</param>
    /// <param name="problems">One line per problem.</param>
    public InvalidOptionsException(string optionsName, IReadOnlyList<string> problems)
        : base(Describe(optionsName, problems))
    {
        OptionsName = optionsName ?? string.Empty;
        Problems = problems ?? [];
    }

    /// <summary>Gets the options at fault (a type name or a configuration path), or empty when not known.</summary>
    public string OptionsName { get; }

    /// <summary>Gets one line per problem.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Describe(string? optionsName, IReadOnlyList<string>? problems)
        => $"{(string.IsNullOrEmpty(optionsName) ? "Options" : optionsName)} is invalid: {string.Join(" ", (problems ?? []).Select(p => p.EndsWith('.') ? p : p + "."))}";
}
