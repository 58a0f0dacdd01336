using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace LlmAdapt.Formats;

/// <summary>
/// Reads JSON Lines: one JSON object per line, blank lines skipped, a <c>.gz</c> file decompressed on the fly. A line
/// that is not JSON, or not an object, is an <see cref="InvalidDataFileException"/> naming the file and line.
/// </summary>
internal static class JsonLines
{
    /// <summary>Yields each non-blank line's object with its 1-based line number; the caller disposes each document.</summary>
    /// <param name="path">The JSONL (or JSONL.gz) file.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The line number and parsed document of each non-blank line, in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">A line is not valid JSON or not a JSON object.</exception>
    public static IAsyncEnumerable<(int Line, JsonDocument Document)> ReadObjectsAsync(string path, CancellationToken cancellationToken = default)
        => ReadObjectsAsync(path, onTornLastLine: null, cancellationToken);

    /// <summary>
    /// Yields each non-blank line's object with its 1-based line number, like
    /// <see cref="ReadObjectsAsync(string, CancellationToken)"/>, but tolerates a torn last line: when
    /// <paramref name="onTornLastLine"/> is given, a final line that has no line break after it and is not valid JSON
    /// (what an append cut short by a crash leaves) is reported through it and skipped. Anywhere else a bad line still
    /// throws.
    /// </summary>
    /// <param name="path">The JSONL (or JSONL.gz) file.</param>
    /// <param name="onTornLastLine">Receives the 1-based number of a skipped torn last line, or <see langword="null"/> to throw on it.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The line number and parsed document of each non-blank line, in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">A line is not valid JSON or not a JSON object.</exception>
    public static async IAsyncEnumerable<(int Line, JsonDocument Document)> ReadObjectsAsync(string path, Action<int>? onTornLastLine, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file.", path);
        }

        var compressed = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

        // Shared for writing too: a store may be appending while it is read.
        Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true);
        var length = stream.Length;
        if (compressed)
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lineNumber = 0;
        string? pending = null;
        while (true)
        {
            var text = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (pending is not null)
            {
                var isLast = text is null;
                var document = Parse(path, lineNumber, pending, isLast && onTornLastLine is not null && !compressed && !EndsWithLineBreak(path, length));
                if (document is null)
                {
                    onTornLastLine!(lineNumber);
                }
                else
                {
                    yield return (lineNumber, document);
                }

                pending = null;
            }

            if (text is null)
            {
                break;
            }

            lineNumber++;
            if (!string.IsNullOrWhiteSpace(text))
            {
                pending = text;
            }
        }
    }

    /// <summary>Parses one line; returns <see langword="null"/> only for a torn line when <paramref name="mayBeTorn"/>.</summary>
    private static JsonDocument? Parse(string path, int lineNumber, string text, bool mayBeTorn)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            if (mayBeTorn)
            {
                return null;
            }

            throw new InvalidDataFileException(path, lineNumber, $"not valid JSON ({ex.Message})", ex);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new InvalidDataFileException(path, lineNumber, $"expected a JSON object, found {kind}.");
        }

        return document;
    }

    /// <summary>Whether the file's byte at <paramref name="length"/> − 1 (its end when reading began) is a line feed.</summary>
    private static bool EndsWithLineBreak(string path, long length)
    {
        if (length == 0)
        {
            return true;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        file.Seek(length - 1, SeekOrigin.Begin);
        return file.ReadByte() == '\n';
    }
}
