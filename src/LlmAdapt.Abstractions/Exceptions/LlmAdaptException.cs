namespace LlmAdapt;

/// <summary>The base of every exception LlmAdapt throws for a problem in the caller's data, files or configuration.</summary>
public class LlmAdaptException : Exception
{
    /// <summary>Initializes a new instance.</summary>
    public LlmAdaptException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong, with the numbers.</param>
    public LlmAdaptException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong, with the numbers.</param>
    /// <param name="innerException">The cause.</param>
    public LlmAdaptException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
