namespace LlmAdapt;

/// <summary>A data file (JSONL, TSV, BEIR, safetensors, …) is malformed; the message names the file and line.</summary>
public sealed class InvalidDataFileException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public InvalidDataFileException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public InvalidDataFileException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public InvalidDataFileException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance naming the file and 1-based line.</summary>
    /// <param name="path">The file.</param>
    /// <param name="lineNumber">The 1-based line, or 0 when the problem is not on one line.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public InvalidDataFileException(string path, int lineNumber, string problem, Exception? innerException = null)
        : base(lineNumber > 0 ? $"{path}:{lineNumber}: {problem}" : $"{path}: {problem}", innerException)
    {
        FilePath = path;
        LineNumber = lineNumber;
    }

    /// <summary>Gets the file at fault.</summary>
    public string? FilePath { get; }

    /// <summary>Gets the 1-based line at fault, or 0.</summary>
    public int LineNumber { get; }
}
