using System.ComponentModel.DataAnnotations;
using LlmAdapt.Retrieval.Retrievers;

namespace LlmAdapt.Retrieval;

/// <summary>The retrieval services <c>AddRetrieval()</c> registers, bound from the <c>LlmAdapt:Retrieval</c> section.</summary>
public sealed class RetrievalOptions : IValidatableObject
{
    /// <summary>The configuration section name under <c>LlmAdapt</c>.</summary>
    public const string SectionName = "Retrieval";

    /// <summary>
    /// Gets or sets an index file to load at first use (saved by <c>DocumentIndexFile</c>), or <see langword="null"/> to
    /// start empty. A path naming no file fails validation (at start-up) rather than silently giving an empty index.
    /// </summary>
    public string? IndexPath { get; set; }

    /// <summary>Gets or sets whether every retrieval must name a principal (fail-closed); off by default.</summary>
    public bool RequireAccessControl { get; set; }

    /// <summary>
    /// Gets or sets the retriever: <c>keyword</c> (BM25; <c>bm25</c> is the same), <c>dense</c> or <c>hybrid</c>
    /// (fused as <see cref="Fusion"/> says), the names <see cref="Composition.RetrieverFactory"/> and the <c>llmadapt</c>
    /// tool share. The default, <see langword="null"/>, is hybrid when an embedding generator is registered and keyword otherwise.
    /// </summary>
    public string? Retriever { get; set; }

    /// <summary>Gets or sets the k of reciprocal-rank fusion; 60 by default.</summary>
    [Range(0.0, 10_000.0)]
    public double RrfK { get; set; } = 60;

    /// <summary>Gets or sets the fusion method of the hybrid retriever; <see cref="Composition.RetrieverFactory.DefaultFusion"/> (weighted scores) by default, as in the tool.</summary>
    public FusionMethod Fusion { get; set; } = Composition.RetrieverFactory.DefaultFusion;

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (Retriever is not null && !Composition.RetrieverFactory.IsKnown(Retriever))
        {
            yield return new ValidationResult($"Retriever: unknown retriever '{Retriever}'; use {string.Join(", ", Composition.RetrieverFactory.Names)}", [nameof(Retriever)]);
        }

        if (IndexPath is { } path && !File.Exists(path))
        {
            yield return new ValidationResult($"IndexPath: no such index file '{Path.GetFullPath(path)}'", [nameof(IndexPath)]);
        }
    }
}
