using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Retrieval.Composition;

/// <summary>An index built from (or loaded for) a folder by <see cref="FolderIndexer"/>.</summary>
/// <param name="Index">The index; the caller disposes it.</param>
/// <param name="Files">How many files were read (0 when loaded from the cache).</param>
/// <param name="Skipped">Files left out, each with the reason (binary or not UTF-8, empty); a file that cannot be read is an error, not skipped.</param>
/// <param name="FromCache">Whether the index came from the folder's cache rather than being built.</param>
public sealed record FolderIndex(DocumentIndex Index, int Files, IReadOnlyList<(string Path, string Reason)> Skipped, bool FromCache);
