using System.ComponentModel.DataAnnotations;
using System.Linq.Expressions;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>How a <see cref="VectorStoreRetriever{TKey, TRecord}"/> queries its collection.</summary>
/// <typeparam name="TRecord">The collection's record type.</typeparam>
public sealed class VectorStoreRetrieverOptions<TRecord>
{
    /// <summary>Gets or sets the access rules (principal required, mandatory filter).</summary>
    [Required]
    public RetrieverOptions Access { get; set; } = new();

    /// <summary>
    /// Gets or sets a function that turns a request into the store's own filter (for example tenant, metadata and
    /// access-list conditions the connector can evaluate before ranking), or <see langword="null"/>. Whatever the
    /// store returns is checked again against the request's filter and principal, so a filter that is too wide
    /// can cost results but never leak them.
    /// </summary>
    public Func<RetrievalRequest, Expression<Func<TRecord, bool>>?>? StoreFilter { get; set; }

    /// <summary>Gets or sets how many times k results to ask the store for, to make up for results dropped by the second check; 2 by default.</summary>
    [Range(1, 100)]
    public int Oversample { get; set; } = 2;
}
