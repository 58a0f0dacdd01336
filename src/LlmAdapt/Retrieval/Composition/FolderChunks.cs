namespace LlmAdapt.Retrieval.Composition;

/// <summary>The chunks <see cref="FolderIndexer.ReadChunksAsync"/> read from a folder, for a store other than an in-process index.</summary>
/// <param name="Chunks">The chunks, document by document in file order.</param>
/// <param name="Files">How many files were read.</param>
/// <param name="Skipped">Files left out, each with the reason (binary or not UTF-8, empty); a file that cannot be read is an error, not skipped.</param>
public sealed record FolderChunks(IReadOnlyList<DocumentChunk> Chunks, int Files, IReadOnlyList<(string Path, string Reason)> Skipped);
