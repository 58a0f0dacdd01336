namespace LlmAdapt.Retrieval.Packing;

/// <summary>One passage in a <see cref="PackedContext"/>: its number in the prompt, its source and the text that went in.</summary>
public sealed record PackedPassage
{
    /// <summary>Gets the passage's number, from 1, as the model cites it (<c>[n]</c>).</summary>
    public required int Number { get; init; }

    /// <summary>Gets the retrieved chunk the passage came from.</summary>
    public required RetrievedChunk Retrieved { get; init; }

    /// <summary>Gets the text placed in the prompt (the chunk's text less any part already packed from an overlapping chunk).</summary>
    public required string Text { get; init; }

    /// <summary>Gets the citation of the text placed in the prompt.</summary>
    public required Citation Citation { get; init; }

    /// <summary>Gets the tokens the fenced passage costs.</summary>
    public required int TokenCount { get; init; }
}
