using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Retrieval.Indexes;

/// <summary>How a <see cref="DocumentIndex"/> indexes and guards its chunks.</summary>
public sealed class DocumentIndexOptions : IValidatableObject
{
    /// <summary>Gets or sets the BM25 parameters.</summary>
    [Required]
    public Bm25Options Bm25 { get; set; } = new();

    /// <summary>Gets or sets which vector index holds the embeddings; exact search by default.</summary>
    public VectorIndexKind VectorIndex { get; set; } = VectorIndexKind.Flat;

    /// <summary>Gets or sets the HNSW parameters, used when <see cref="VectorIndex"/> is <see cref="VectorIndexKind.Hnsw"/>.</summary>
    [Required]
    public HnswOptions Hnsw { get; set; } = new();

    /// <summary>
    /// Gets or sets whether every search must name a principal (fail-closed): a search without one throws
    /// <see cref="AccessDeniedException"/>, and a chunk without an access list is shown to nobody. Off by default;
    /// a search that names a principal is always limited to what the principal may see.
    /// </summary>
    public bool RequireAccessControl { get; set; }

    /// <summary>Gets or sets whether a chunk's title and heading path are indexed for keyword search with its text; on by default.</summary>
    public bool IndexTitles { get; set; } = true;

    /// <summary>Gets or sets whether vectors and queries are scaled to unit length, so scores are cosine similarities; on by default.</summary>
    public bool NormalizeVectors { get; set; } = true;

    /// <summary>
    /// Gets or sets the identifier of the embedding model that produced the index's vectors (saved with the index so a
    /// loader can tell which model to embed queries with), or <see langword="null"/>.
    /// </summary>
    public string? EmbeddingModelId { get; set; }

    /// <summary>Throws when a value is out of range, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">A value is out of range.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (!Enum.IsDefined(VectorIndex))
        {
            yield return new ValidationResult($"VectorIndex: unknown vector index kind {(int)VectorIndex}", [nameof(VectorIndex)]);
        }

        foreach (var problem in OptionsValidator.Nested(Bm25, nameof(Bm25)).Concat(OptionsValidator.Nested(Hnsw, nameof(Hnsw))))
        {
            yield return problem;
        }
    }
}
