namespace LlmAdapt;

/// <summary>A model, tokenizer, checkpoint or index could not be loaded; the message names the file and why.</summary>
public sealed class ModelLoadException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public ModelLoadException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public ModelLoadException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ModelLoadException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance naming the file.</summary>
    /// <param name="path">The file or folder.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public ModelLoadException(string path, string problem, Exception? innerException)
        : base($"{path}: {problem}", innerException)
    {
        FilePath = path;
    }

    /// <summary>Gets the file or folder at fault.</summary>
    public string? FilePath { get; }
}
