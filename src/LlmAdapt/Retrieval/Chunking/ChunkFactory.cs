using System.Globalization;

namespace LlmAdapt.Retrieval.Chunking;

internal static class ChunkFactory
{
    public static DocumentChunk Create(Document document, int index, int start, int end, int tokens, string? headingPath)
    {
        var metadata = document.Metadata;
        if (!string.IsNullOrEmpty(headingPath))
        {
            var copy = new Dictionary<string, string>(document.Metadata, StringComparer.Ordinal) { [MarkdownChunker.HeadingPathKey] = headingPath };
            metadata = copy;
        }

        return new DocumentChunk
        {
            Id = string.Create(CultureInfo.InvariantCulture, $"{document.Id}#{index}"),
            DocumentId = document.Id,
            Text = document.Text[start..end],
            Index = index,
            StartOffset = start,
            EndOffset = end,
            TokenCount = tokens,
            Source = document.Source,
            Title = document.Title,
            Metadata = metadata,
            AllowedPrincipals = document.AllowedPrincipals,
        };
    }
}
