namespace LlmAdapt;

/// <summary>A request was refused by access control, for example a retrieval without a principal.</summary>
public sealed class AccessDeniedException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public AccessDeniedException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public AccessDeniedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public AccessDeniedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
