namespace LlmAdapt.Retrieval;

/// <summary>Finds the chunks most relevant to a query, honouring filters and access control.</summary>
public interface IRetriever
{
    /// <summary>Returns up to <see cref="RetrievalRequest.TopK"/> chunks, best first.</summary>
    /// <param name="request">The query, its filter and principal.</param>
    /// <param name="cancellationToken">Stops the search.</param>
    /// <returns>The chunks, ranked from 1.</returns>
    /// <exception cref="AccessDeniedException">The retriever enforces access control and the request names no principal.</exception>
    Task<IReadOnlyList<RetrievedChunk>> RetrieveAsync(RetrievalRequest request, CancellationToken cancellationToken = default);
}
