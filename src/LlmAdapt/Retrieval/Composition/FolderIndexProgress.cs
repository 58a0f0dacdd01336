namespace LlmAdapt.Retrieval.Composition;

/// <summary>How far <see cref="FolderIndexer"/> is in indexing a folder.</summary>
/// <param name="Indexed">Chunks embedded (or, without a model, added) so far.</param>
/// <param name="Total">Chunks the folder was cut into.</param>
public readonly record struct FolderIndexProgress(int Indexed, int Total);
