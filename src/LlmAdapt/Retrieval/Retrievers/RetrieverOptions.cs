namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>Access rules a retriever enforces on every request.</summary>
public sealed class RetrieverOptions
{
    /// <summary>
    /// Gets or sets whether access control is on (fail-closed): a request that names no principal is refused with
    /// <see cref="AccessDeniedException"/>, and only chunks whose access list admits the principal are returned.
    /// </summary>
    public bool RequireAccessControl { get; set; }

    /// <summary>
    /// Gets or sets a filter added to every request's filter (for example a tenant partition), or
    /// <see langword="null"/>. Callers cannot widen it: both must hold.
    /// </summary>
    public RetrievalFilter? MandatoryFilter { get; set; }

    internal RetrievalFilter? Combine(RetrievalRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (RequireAccessControl && request.Principal is null)
        {
            throw new AccessDeniedException("Access control is on: the retrieval request must name a principal.");
        }

        if (MandatoryFilter is null)
        {
            return request.Filter;
        }

        return request.Filter is null ? MandatoryFilter : new RetrievalFilter { Conditions = [.. MandatoryFilter.Conditions, .. request.Filter.Conditions] };
    }
}
