namespace LlmAdapt;

/// <summary>One item of a batch passed to a model (a text to embed, an example to score) is unusable; the message names its index.</summary>
public sealed class InvalidBatchItemException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public InvalidBatchItemException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public InvalidBatchItemException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public InvalidBatchItemException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance naming the argument and the 0-based index of the item at fault.</summary>
    /// <param name="argumentName">The argument that holds the batch.</param>
    /// <param name="index">The 0-based index of the item.</param>
    /// <param name="problem">What is wrong with it.</param>
    public InvalidBatchItemException(string argumentName, int index, string problem)
        : base($"{argumentName}[{index}]: {problem}")
    {
        ArgumentName = argumentName;
        Index = index;
    }

    /// <summary>Gets the argument that holds the batch, when known.</summary>
    public string? ArgumentName { get; }

    /// <summary>Gets the 0-based index of the item at fault, or -1 when not known.</summary>
    public int Index { get; } = -1;
}
