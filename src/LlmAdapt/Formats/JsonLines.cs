using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace LlmAdapt.Formats;

/// <summary>
/// Reads JSON Lines: one JSON object per line, blank lines skipped, a <c>.gz</c> file decompressed on the fly. A line
/// that is not JSON, or not an object, is an <see cref="InvalidDataFileException"/> naming the file and line.
/// </summary>
public static class JsonLines
{
    /// <summary>Yields each non-blank line's object with its 1-based line number; the caller disposes each document.</summary>
    /// <param name="path">The JSONL (or JSONL.gz) file.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The line number and parsed document of each non-blank line, in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">A line is not valid JSON or not a JSON object.</exception>
    public static async IAsyncEnumerable<(int Line, JsonDocument Document)> ReadObjectsAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file.", path);
        }

        Stream stream = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lineNumber = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataFileException(path, lineNumber, $"not valid JSON ({ex.Message})", ex);
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                var kind = document.RootElement.ValueKind;
                document.Dispose();
                throw new InvalidDataFileException(path, lineNumber, $"expected a JSON object, found {kind}.");
            }

            yield return (lineNumber, document);
        }
    }
}
