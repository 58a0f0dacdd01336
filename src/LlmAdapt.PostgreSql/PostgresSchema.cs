using System.Globalization;
using System.Text.RegularExpressions;

namespace LlmAdapt.PostgreSql;

/// <summary>
/// The SQL names of one store: the schema, table and index identifiers, checked against
/// <see cref="PostgresRetrievalOptions.IdentifierPattern"/> and always quoted. Only these validated names and
/// validated integers from the options are ever written into SQL text; every value travels as a parameter.
/// </summary>
internal sealed partial class PostgresSchema
{
    /// <summary>The schema version this library writes; a table recorded with a higher one is refused.</summary>
    public const int CurrentVersion = 1;

    public PostgresSchema(PostgresRetrievalOptions options)
    {
        SchemaName = Checked(options.Schema, nameof(options.Schema));
        TableName = Checked(options.Table, nameof(options.Table));
        if (!TextConfigRule().IsMatch(options.TextSearchConfiguration))
        {
            throw new PostgresRetrievalException(PostgresProblem.Other, $"TextSearchConfiguration '{options.TextSearchConfiguration}' is not a configuration name of lower-case letters and underscores.");
        }

        TextConfig = options.TextSearchConfiguration;
        Schema = Quote(SchemaName);
        Table = $"{Schema}.{Quote(TableName)}";
        Versions = $"{Schema}.{Quote("llmadapt_schema_versions")}";
    }

    public string SchemaName { get; }

    public string TableName { get; }

    public string TextConfig { get; }

    /// <summary>Gets the quoted schema.</summary>
    public string Schema { get; }

    /// <summary>Gets the quoted, schema-qualified chunk table.</summary>
    public string Table { get; }

    /// <summary>Gets the quoted, schema-qualified version table.</summary>
    public string Versions { get; }

    /// <summary>Gets the qualified name as <c>to_regclass</c> takes it.</summary>
    public string RegClass => $"{Schema}.{Quote(TableName)}";

    public string Index(string suffix) => Quote($"{TableName}_{suffix}");

    /// <summary>The statements that create version 1 of the table and its indexes.</summary>
    public IEnumerable<string> CreateStatements(int dimensions, PostgresRetrievalOptions options)
    {
        var d = dimensions.ToString(CultureInfo.InvariantCulture);
        yield return $"""
            CREATE TABLE {Table} (
                chunk_id text PRIMARY KEY,
                document_id text NOT NULL,
                chunk_index integer NOT NULL,
                start_offset integer NOT NULL,
                end_offset integer NOT NULL,
                token_count integer NOT NULL,
                source text,
                title text,
                body text NOT NULL,
                metadata jsonb NOT NULL DEFAULT '{"{}"}',
                allowed_principals text[],
                search_text text NOT NULL,
                search_vector tsvector GENERATED ALWAYS AS (to_tsvector('{TextConfig}'::regconfig, search_text)) STORED,
                embedding vector({d})
            )
            """;
        yield return $"CREATE INDEX {Index("document")} ON {Table} (document_id)";
        yield return $"CREATE INDEX {Index("principals")} ON {Table} USING gin (allowed_principals)";
        yield return $"CREATE INDEX {Index("metadata")} ON {Table} USING gin (metadata jsonb_path_ops)";
        yield return $"CREATE INDEX {Index("search")} ON {Table} USING gin (search_vector)";
        if (options.VectorIndex == PostgresVectorIndex.Hnsw)
        {
            yield return HnswStatement(options);
        }
    }

    public string HnswStatement(PostgresRetrievalOptions options) =>
        string.Create(CultureInfo.InvariantCulture, $"CREATE INDEX IF NOT EXISTS {Index("embedding_hnsw")} ON {Table} USING hnsw (embedding vector_cosine_ops) WITH (m = {options.HnswM}, ef_construction = {options.HnswEfConstruction})");

    private static string Checked(string? name, string what)
    {
        if (name is null || !IdentifierRule().IsMatch(name))
        {
            throw new PostgresRetrievalException(PostgresProblem.Other, $"{what} '{name}' is not a valid name: it must match {PostgresRetrievalOptions.IdentifierPattern}.");
        }

        return name;
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    [GeneratedRegex(PostgresRetrievalOptions.IdentifierPattern)]
    private static partial Regex IdentifierRule();

    [GeneratedRegex("^[a-z_]{1,40}$")]
    private static partial Regex TextConfigRule();
}
