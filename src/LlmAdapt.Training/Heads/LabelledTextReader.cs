using System.Globalization;
using System.Text.Json;
using LlmAdapt.Formats;
using Microsoft.VisualBasic.FileIO;

namespace LlmAdapt.Training.Heads;

/// <summary>
/// Reads labelled texts from TSV, CSV or JSONL into <see cref="TrainingExample"/>s (text in <see cref="TrainingExample.Input"/>,
/// class in <see cref="TrainingExample.Label"/>, <c>file:line</c> in <see cref="TrainingExample.Origin"/>). Columns are
/// named by header name or by 0-based index (in JSONL, by property name only). Problems are <see cref="InvalidDataFileException"/>s naming the file and line.
/// </summary>
public static class LabelledTextReader
{
    /// <summary>Returns the format a file's extension implies: <c>.csv</c>, <c>.jsonl</c>/<c>.json</c>, else TSV.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The format.</returns>
    public static TextTableFormat FormatOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".csv" => TextTableFormat.Csv,
            ".jsonl" or ".json" or ".ndjson" => TextTableFormat.Jsonl,
            _ => TextTableFormat.Tsv,
        };
    }

    /// <summary>Reads the file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="textColumn">The text column: a header name, or a 0-based index (JSONL: a property name).</param>
    /// <param name="labelColumn">The label column: a header name, or a 0-based index (JSONL: a property name).</param>
    /// <param name="format">The layout, or <see langword="null"/> to go by the extension.</param>
    /// <param name="hasHeader">Whether the first TSV/CSV line is a header (ignored for JSONL).</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The examples in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">The file is empty, a column is unknown (the header is listed), or a row is short or has an empty label.</exception>
    public static async Task<IReadOnlyList<TrainingExample>> ReadAsync(string path, string textColumn, string labelColumn, TextTableFormat? format = null, bool hasHeader = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(textColumn);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelColumn);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file.", path);
        }

        var result = (format ?? FormatOf(path)) == TextTableFormat.Jsonl
            ? await ReadJsonlAsync(path, textColumn, labelColumn, cancellationToken).ConfigureAwait(false)
            : await Task.Run(() => ReadDelimited(path, textColumn, labelColumn, (format ?? FormatOf(path)) == TextTableFormat.Csv, hasHeader, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (result.Count == 0)
        {
            throw new InvalidDataFileException(path, 0, "the file holds no examples.");
        }

        return result;
    }

    private static List<TrainingExample> ReadDelimited(string path, string textColumn, string labelColumn, bool csv, bool hasHeader, CancellationToken cancellationToken)
    {
        using var parser = new TextFieldParser(path, System.Text.Encoding.UTF8)
        {
            TextFieldType = FieldType.Delimited,
            HasFieldsEnclosedInQuotes = csv,
            TrimWhiteSpace = false,
        };
        parser.SetDelimiters(csv ? "," : "\t");
        var result = new List<TrainingExample>();
        int textIndex;
        int labelIndex;
        if (hasHeader)
        {
            var headerLine = (int)parser.LineNumber;
            var header = ReadFields(parser, path);
            if (header is null)
            {
                throw new InvalidDataFileException(path, 0, "the file is empty.");
            }

            textIndex = Resolve(path, headerLine, header, textColumn, "text");
            labelIndex = Resolve(path, headerLine, header, labelColumn, "label");
        }
        else
        {
            textIndex = IndexOnly(path, textColumn, "text");
            labelIndex = IndexOnly(path, labelColumn, "label");
        }

        var needed = Math.Max(textIndex, labelIndex) + 1;
        while (!parser.EndOfData)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var line = (int)parser.LineNumber;
            var fields = ReadFields(parser, path);
            if (fields is null || (fields.Length == 1 && fields[0].Length == 0))
            {
                continue;
            }

            if (fields.Length < needed)
            {
                throw new InvalidDataFileException(path, line, $"the row has {fields.Length} field(s); column {needed - 1} is needed.");
            }

            var label = fields[labelIndex].Trim();
            if (label.Length == 0)
            {
                throw new InvalidDataFileException(path, line, "the label is empty.");
            }

            result.Add(new TrainingExample { Input = fields[textIndex], Label = label, Origin = $"{path}:{line}" });
        }

        return result;
    }

    private static string[]? ReadFields(TextFieldParser parser, string path)
    {
        try
        {
            return parser.ReadFields();
        }
        catch (MalformedLineException ex)
        {
            throw new InvalidDataFileException(path, (int)ex.LineNumber, $"malformed row: {ex.Message}", ex);
        }
    }

    private static int Resolve(string path, int line, string[] header, string column, string role)
    {
        for (var i = 0; i < header.Length; i++)
        {
            if (string.Equals(header[i].Trim(), column, StringComparison.Ordinal))
            {
                return i;
            }
        }

        if (int.TryParse(column, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            if (index < header.Length)
            {
                return index;
            }

            throw new InvalidDataFileException(path, line, $"the {role} column index {index} is past the header's {header.Length} columns ({string.Join(", ", header)}).");
        }

        throw new InvalidDataFileException(path, line, $"no {role} column '{column}'; the header has: {string.Join(", ", header.Select(h => h.Trim()))}.");
    }

    private static int IndexOnly(string path, string column, string role)
        => int.TryParse(column, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : throw new InvalidDataFileException(path, 0, $"without a header the {role} column must be a 0-based index, not '{column}'.");

    private static async Task<List<TrainingExample>> ReadJsonlAsync(string path, string textColumn, string labelColumn, CancellationToken cancellationToken)
    {
        var result = new List<TrainingExample>();
        await foreach (var (line, document) in JsonLines.ReadObjectsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            using (document)
            {
                var root = document.RootElement;
                var input = Field(path, line, root, textColumn, "text");
                var label = Field(path, line, root, labelColumn, "label").Trim();
                if (label.Length == 0)
                {
                    throw new InvalidDataFileException(path, line, "the label is empty.");
                }

                result.Add(new TrainingExample { Input = input, Label = label, Origin = $"{path}:{line}" });
            }
        }

        return result;
    }

    private static string Field(string path, int line, JsonElement root, string column, string role)
    {
        if (!root.TryGetProperty(column, out var value))
        {
            throw new InvalidDataFileException(path, line, $"no {role} field '{column}'; the object has: {string.Join(", ", root.EnumerateObject().Select(p => p.Name))}.");
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => throw new InvalidDataFileException(path, line, $"the {role} field '{column}' is {value.ValueKind}; expected a string, number or boolean."),
        };
    }
}
