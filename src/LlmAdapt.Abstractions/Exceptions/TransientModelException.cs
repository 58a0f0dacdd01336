namespace LlmAdapt.Resilience;

/// <summary>
/// A model call failed in a way worth retrying. Throw it from an adapter to mark a failure transient and, when the
/// server said so, carry its <c>Retry-After</c>.
/// </summary>
public sealed class TransientModelException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public TransientModelException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public TransientModelException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TransientModelException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the server's requested delay.</summary>
    /// <param name="message">The message.</param>
    /// <param name="retryAfter">The delay the server asked for.</param>
    /// <param name="innerException">The cause, if any.</param>
    public TransientModelException(string message, TimeSpan? retryAfter, Exception? innerException = null)
        : base(message, innerException)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>Gets the delay the server asked for, when it did.</summary>
    public TimeSpan? RetryAfter { get; }
}
