namespace LlmAdapt.Retrieval;

/// <summary>A chunk a retriever returned, with its score and citation.</summary>
public sealed record RetrievedChunk
{
    /// <summary>Gets the chunk.</summary>
    public required DocumentChunk Chunk { get; init; }

    /// <summary>Gets the retriever's score; higher is better, and scores are comparable only within one result list.</summary>
    public double Score { get; init; }

    /// <summary>Gets the 1-based rank in the result list.</summary>
    public int Rank { get; init; }

    /// <summary>Gets where the chunk came from.</summary>
    public Citation Citation => Citation.For(Chunk);
}
