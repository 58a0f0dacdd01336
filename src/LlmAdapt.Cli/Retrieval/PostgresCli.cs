using System.CommandLine;
using LlmAdapt.PostgreSql;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Cli.Retrieval;

/// <summary>The <c>--postgres</c> and <c>--table</c> options of the retrieval verbs.</summary>
internal static class PostgresCli
{
    /// <summary>The environment variable a bare <c>--postgres</c> reads the connection string from.</summary>
    public const string EnvironmentVariable = "LLMADAPT_POSTGRES";

    public static Option<string?> ConnectionOption() => new("--postgres")
    {
        Description = $"Use PostgreSQL with pgvector instead of an index file. Bare, the connection string is read from {EnvironmentVariable} (preferred: a value given here shows in the process list); it is never printed.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public static Option<string> TableOption(string defaultTable) => new("--table")
    {
        Description = "PostgreSQL table of chunks (lower-case letters, digits, underscores).",
        DefaultValueFactory = _ => defaultTable,
    };

    /// <summary>Returns the connection string when <c>--postgres</c> was given, or <see langword="null"/>.</summary>
    public static string? ConnectionString(ParseResult parse, Option<string?> option)
    {
        if (parse.GetResult(option) is null)
        {
            return null;
        }

        var value = parse.GetValue(option);
        if (string.IsNullOrWhiteSpace(value))
        {
            value = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new CliUsageException($"--postgres without a value reads the connection string from {EnvironmentVariable}, which is not set.");
            }
        }

        return value;
    }

    public static Task<PostgresDocumentStore> OpenAsync(string connectionString, string table, IEmbeddingGenerator<string, Embedding<float>>? generator, bool exact, CancellationToken cancellationToken) =>
        PostgresDocumentStore.OpenAsync(
            connectionString,
            new PostgresRetrievalOptions { Table = table, ExactSearch = exact, Dimensions = generator is null ? 384 : null },
            generator,
            cancellationToken);

    /// <summary>Describes where the chunks went without the connection string (which may hold a password).</summary>
    public static string Describe(string table) => $"PostgreSQL table {table}";
}
