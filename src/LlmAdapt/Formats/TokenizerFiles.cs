namespace LlmAdapt.Formats;

/// <summary>
/// The tokenizer files of a Hugging Face model folder, which travel with a checkpoint: from a base checkpoint into a
/// fine-tuned one, and from a checkpoint into its ONNX export.
/// </summary>
internal static class TokenizerFiles
{
    /// <summary>Gets the files copied with a model, when present.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
        "tokenizer.model", "added_tokens.json", "generation_config.json",
    ];

    /// <summary>Gets the files that define a vocabulary; a folder with none of them has no tokenizer of its own.</summary>
    public static IReadOnlyList<string> VocabularyNames { get; } = ["tokenizer.json", "tokenizer.model", "vocab.json"];

    /// <summary>Returns whether <paramref name="folder"/> has a vocabulary of its own.</summary>
    public static bool HasVocabulary(string folder) => VocabularyNames.Any(f => File.Exists(Path.Combine(folder, f)));

    /// <summary>Copies each of <see cref="Names"/> that <paramref name="source"/> has into <paramref name="destination"/>, atomically.</summary>
    /// <returns>The names copied, in <see cref="Names"/> order.</returns>
    public static async Task<List<string>> CopyAsync(string source, string destination, CancellationToken cancellationToken)
    {
        var copied = new List<string>();
        foreach (var name in Names)
        {
            var file = Path.Combine(source, name);
            if (File.Exists(file))
            {
                await AtomicFile.WriteAllBytesAsync(Path.Combine(destination, name), await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                copied.Add(name);
            }
        }

        return copied;
    }
}
