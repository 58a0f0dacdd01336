using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.PostgreSql;

/// <summary>
/// Where and how <see cref="PostgresDocumentStore"/> keeps chunks in PostgreSQL, and how its retrievers search them.
/// Bound from the <c>LlmAdapt:PostgreSql</c> section by <c>AddPostgresRetrieval</c> and validated at start-up.
/// </summary>
public sealed class PostgresRetrievalOptions : IValidatableObject
{
    /// <summary>The configuration section name under <c>LlmAdapt</c>.</summary>
    public const string SectionName = "PostgreSql";

    /// <summary>The rule table and schema names must follow: lower-case letters, digits and underscores, starting with a letter or underscore, at most 40 characters (the index names add a suffix and PostgreSQL keeps 63).</summary>
    public const string IdentifierPattern = "^[a-z_][a-z0-9_]{0,39}$";

    /// <summary>Gets or sets the connection string, when the host does not register an <c>NpgsqlDataSource</c>. Never logged or echoed.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the schema that holds the table; <c>public</c> by default. Created when missing.</summary>
    [Required]
    [RegularExpression(IdentifierPattern, ErrorMessage = "Schema must match ^[a-z_][a-z0-9_]{{0,39}}$ (lower-case letters, digits, underscores; at most 40).")]
    public string Schema { get; set; } = "public";

    /// <summary>Gets or sets the chunk table's name; <c>llmadapt_chunks</c> by default.</summary>
    [Required]
    [RegularExpression(IdentifierPattern, ErrorMessage = "Table must match ^[a-z_][a-z0-9_]{{0,39}}$ (lower-case letters, digits, underscores; at most 40).")]
    public string Table { get; set; } = "llmadapt_chunks";

    /// <summary>
    /// Gets or sets the embeddings' length. <see langword="null"/> (the default) takes it from the embedding
    /// generator's metadata or, failing that, from one probe embedding. An existing table whose vector column has
    /// another length is refused.
    /// </summary>
    [Range(1, 16_000)]
    public int? Dimensions { get; set; }

    /// <summary>Gets or sets the vector index: HNSW with cosine distance (the default) or none (every dense search is exact).</summary>
    public PostgresVectorIndex VectorIndex { get; set; } = PostgresVectorIndex.Hnsw;

    /// <summary>Gets or sets HNSW's links per node (pgvector's <c>m</c>); 16 by default.</summary>
    [Range(2, 100)]
    public int HnswM { get; set; } = 16;

    /// <summary>Gets or sets HNSW's build-time candidate list (pgvector's <c>ef_construction</c>); 64 by default, at least twice <see cref="HnswM"/>.</summary>
    [Range(4, 1000)]
    public int HnswEfConstruction { get; set; } = 64;

    /// <summary>Gets or sets HNSW's search-time candidate list (<c>hnsw.ef_search</c>), set per query inside its transaction; 100 by default.</summary>
    [Range(1, 1000)]
    public int HnswEfSearch { get; set; } = 100;

    /// <summary>
    /// Gets or sets whether dense searches run exactly (a sequential scan, the index switched off for the query)
    /// even when an HNSW index exists; off by default.
    /// </summary>
    public bool ExactSearch { get; set; }

    /// <summary>Gets or sets PostgreSQL's text search configuration for keyword search; <c>english</c> by default.</summary>
    [Required]
    [RegularExpression("^[a-z_]{1,40}$", ErrorMessage = "TextSearchConfiguration must be a configuration name of lower-case letters and underscores.")]
    public string TextSearchConfiguration { get; set; } = "english";

    /// <summary>Gets or sets how many chunks one insert statement (and one transaction) carries at most; whole documents only, so a larger document gets a batch of its own. 256 by default.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 256;

    /// <summary>Gets or sets whether every search must name a principal (fail-closed); off by default.</summary>
    public bool RequireAccessControl { get; set; }

    /// <summary>Gets or sets the retriever <c>AddPostgresRetrieval</c> registers, named as in <see cref="Retrieval.Composition.RetrieverFactory"/>: <c>keyword</c> (or <c>bm25</c>), <c>dense</c> or <c>hybrid</c>; <see langword="null"/> (the default) is hybrid when an embedding generator is registered and keyword otherwise.</summary>
    public string? Retriever { get; set; }

    /// <summary>Gets or sets how many times a transient connection failure (server unreachable, connection reset) is retried before <see cref="PostgresRetrievalException"/>; 3 by default.</summary>
    [Range(0, 20)]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Gets or sets the first retry's delay, doubled on each later one; 200 ms by default.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (Retriever is not null && !Retrieval.Composition.RetrieverFactory.IsKnown(Retriever))
        {
            yield return new ValidationResult($"Retriever: unknown retriever '{Retriever}'; use {string.Join(", ", Retrieval.Composition.RetrieverFactory.Names)}", [nameof(Retriever)]);
        }

        if (HnswEfConstruction < 2 * HnswM)
        {
            yield return new ValidationResult($"HnswEfConstruction ({HnswEfConstruction}) must be at least twice HnswM ({HnswM})", [nameof(HnswEfConstruction)]);
        }

        if (RetryDelay < TimeSpan.Zero)
        {
            yield return new ValidationResult("RetryDelay must not be negative", [nameof(RetryDelay)]);
        }
    }

    internal void Validate() => OptionsValidator.ThrowIfInvalid(this);
}

/// <summary>The vector index a <see cref="PostgresDocumentStore"/> builds on its embedding column.</summary>
public enum PostgresVectorIndex
{
    /// <summary>pgvector's HNSW index with cosine distance; approximate search, iterative scans under filters.</summary>
    Hnsw,

    /// <summary>No index: every dense search is an exact scan.</summary>
    None,
}
