using System.Text.Json;

namespace LlmAdapt.Prompting;

/// <summary>Reads labelled examples from JSON Lines: one object a line, <c>{"input": "...", "output": "..."}</c>; blank lines are skipped.</summary>
public static class PromptExampleFile
{
    /// <summary>Reads every example of a JSONL file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The examples, in file order; other string properties become metadata.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">A line is not such an object; the message names the file and line. A file without examples is also refused.</exception>
    public static async Task<IReadOnlyList<PromptExample>> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file.", path);
        }

        var examples = new List<PromptExample>();
        var lineNumber = 0;
        await foreach (var line in File.ReadLinesAsync(path, cancellationToken).ConfigureAwait(false))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            examples.Add(Parse(path, lineNumber, line));
        }

        return examples.Count > 0 ? examples : throw new InvalidDataFileException(path, 0, "the file holds no examples.");
    }

    private static PromptExample Parse(string path, int lineNumber, string line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataFileException(path, lineNumber, $"not valid JSON ({ex.Message})", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataFileException(path, lineNumber, $"expected a JSON object, found {document.RootElement.ValueKind}.");
            }

            string? input = null, output = null;
            Dictionary<string, string>? metadata = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "input":
                        input = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : throw new InvalidDataFileException(path, lineNumber, $"\"input\" is a {property.Value.ValueKind}, not a string.");
                        break;
                    case "output":
                        output = property.Value.ValueKind switch
                        {
                            JsonValueKind.String => property.Value.GetString(),
                            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                            _ => throw new InvalidDataFileException(path, lineNumber, $"\"output\" is a {property.Value.ValueKind}, not a string."),
                        };
                        break;
                    default:
                        if (property.Value.ValueKind == JsonValueKind.String)
                        {
                            (metadata ??= new(StringComparer.Ordinal))[property.Name] = property.Value.GetString()!;
                        }

                        break;
                }
            }

            if (input is null || output is null)
            {
                throw new InvalidDataFileException(path, lineNumber, $"missing \"{(input is null ? "input" : "output")}\".");
            }

            return new PromptExample(input, output) { Metadata = metadata };
        }
    }
}
