using System.Text;

namespace LlmAdapt.Retrieval.Chunking;

/// <summary>
/// Reads the Markdown and text files of a folder tree as <see cref="Document"/>s. Hidden files and folders (names
/// starting with a dot) are not read; empty and binary files are skipped with a reason; an unreadable folder or file
/// is an error naming it.
/// </summary>
public static class DocumentFolder
{
    /// <summary>Gets the file extensions read: Markdown (<c>.md</c>, <c>.markdown</c>) and text (<c>.txt</c>).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".md", ".markdown", ".txt"];

    /// <summary>Returns whether <paramref name="path"/> is a Markdown file by its extension.</summary>
    /// <param name="path">The path.</param>
    /// <returns><see langword="true"/> for <c>.md</c> and <c>.markdown</c>.</returns>
    internal static bool IsMarkdown(string path) =>
        path.EndsWith(".md", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".markdown", StringComparison.OrdinalIgnoreCase);

    /// <summary>Lists the files <see cref="ReadAsync"/> would read, sorted by relative path.</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The full paths.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="LlmAdaptException">A folder in the tree cannot be read.</exception>
    public static IReadOnlyList<string> ListFiles(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var root = Path.GetFullPath(directory);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"{root}: no such folder.");
        }

        var files = new List<string>();
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            try
            {
                foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
                {
                    var name = Path.GetFileName(entry);
                    if (name.StartsWith('.'))
                    {
                        continue;
                    }

                    if (Directory.Exists(entry))
                    {
                        pending.Push(entry);
                    }
                    else if (Extensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                    {
                        files.Add(entry);
                    }
                }
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new LlmAdaptException($"{dir}: the folder cannot be read ({ex.Message}).", ex);
            }
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>Reads every Markdown and text file under <paramref name="directory"/>.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The documents (id and source: the path relative to the folder, with '/') and the files skipped, with why.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="LlmAdaptException">A folder or file cannot be read.</exception>
    public static async Task<(IReadOnlyList<Document> Documents, IReadOnlyList<(string Path, string Reason)> Skipped)> ReadAsync(string directory, CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(directory);
        var documents = new List<Document>();
        var skipped = new List<(string, string)>();
        foreach (var file in ListFiles(root))
        {
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new LlmAdaptException($"{file}: the file cannot be read ({ex.Message}).", ex);
            }

            if (DecodeText(bytes, out var problem) is not { } text)
            {
                skipped.Add((file, problem!));
                continue;
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                skipped.Add((file, "empty"));
                continue;
            }

            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            documents.Add(new Document { Id = relative, Text = text, Source = relative, Title = TitleOf(text, file) });
        }

        return (documents, skipped);
    }

    /// <summary>
    /// Decodes a file's bytes as text the way the folder reader does: strict UTF-8, a leading byte-order mark dropped;
    /// bytes that are not UTF-8, or text with NUL characters, are taken for a binary file.
    /// </summary>
    /// <param name="bytes">The file's contents.</param>
    /// <param name="problem">Why the bytes are not text (<c>binary or not UTF-8</c>, <c>binary (contains NUL characters)</c>), or <see langword="null"/>.</param>
    /// <returns>The text, or <see langword="null"/> when the bytes are not text.</returns>
    internal static string? DecodeText(ReadOnlySpan<byte> bytes, out string? problem)
    {
        string text;
        try
        {
            text = s_strictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            problem = "binary or not UTF-8";
            return null;
        }

        if (text.Contains('\0', StringComparison.Ordinal))
        {
            problem = "binary (contains NUL characters)";
            return null;
        }

        problem = null;
        return text.TrimStart('\uFEFF');
    }

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string TitleOf(string text, string path)
    {
        if (IsMarkdown(path))
        {
            foreach (var line in text.AsSpan().EnumerateLines())
            {
                var trimmed = line.Trim();
                if (trimmed.StartsWith("# ", StringComparison.Ordinal))
                {
                    return trimmed[2..].Trim().ToString();
                }
            }
        }

        return Path.GetFileNameWithoutExtension(path);
    }
}
