namespace LlmAdapt.PostgreSql;

/// <summary>A PostgreSQL retrieval store could not do what was asked: the server is unreachable, pgvector is missing, the table does not fit the model, or the configuration is wrong.</summary>
public sealed class PostgresRetrievalException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public PostgresRetrievalException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PostgresRetrievalException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public PostgresRetrievalException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with its kind, a message and its cause.</summary>
    /// <param name="kind">What kind of problem it is.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, or <see langword="null"/>.</param>
    public PostgresRetrievalException(PostgresProblem kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Problem = kind;
    }

    /// <summary>Gets what kind of problem it is.</summary>
    public PostgresProblem Problem { get; }
}

/// <summary>The kinds of <see cref="PostgresRetrievalException"/>.</summary>
public enum PostgresProblem
{
    /// <summary>Not classified.</summary>
    Other,

    /// <summary>The connection string could not be parsed.</summary>
    InvalidConnectionString,

    /// <summary>The server could not be reached, even after the retries.</summary>
    Unreachable,

    /// <summary>The pgvector extension is not installed on the server, or may not be created by this user.</summary>
    MissingExtension,

    /// <summary>The table's vector length differs from the embedding model's.</summary>
    DimensionMismatch,

    /// <summary>The table was created by a newer version of this library, or is not one of its tables.</summary>
    SchemaVersion,
}
