using System.Text.Json;
using LlmAdapt.Preference;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Data;

/// <summary>
/// Loads instruction data as <see cref="TrainingExample"/>s: Alpaca JSON or JSONL (<c>instruction</c>, <c>input</c>,
/// <c>output</c>), Self-Instruct seed tasks (<c>instruction</c> with <c>instances</c> of input/output), and OpenAI chat
/// JSONL (<c>messages</c> with <c>role</c> and <c>content</c>), and preference pairs in any shape
/// <see cref="PreferenceDataReader"/> reads, of which the preferred answer is learned. A malformed line throws
/// <see cref="InvalidDataFileException"/> with the file and 1-based line.
/// </summary>
public static class InstructionDatasets
{
    /// <summary>The format names <see cref="LoadAsync"/> accepts.</summary>
    public static IReadOnlyList<string> Formats { get; } = ["alpaca", "self-instruct", "chat", "preference"];

    /// <summary>Loads a file in the named format.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format"><c>alpaca</c>, <c>self-instruct</c>, <c>chat</c> or <c>preference</c>.</param>
    /// <param name="separator">The text between an instruction and its input (from the prompt format).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The examples, in file order.</returns>
    /// <exception cref="ArgumentException">The format is unknown (the valid ones are listed).</exception>
    /// <exception cref="InvalidDataFileException">A line or element is malformed.</exception>
    public static Task<IReadOnlyList<TrainingExample>> LoadAsync(string path, string format, string separator = "\n\n### Input:\n", CancellationToken cancellationToken = default) => format.ToUpperInvariant() switch
    {
        "ALPACA" => LoadAlpacaAsync(path, separator, cancellationToken),
        "SELF-INSTRUCT" => LoadSelfInstructAsync(path, separator, cancellationToken),
        "CHAT" => LoadChatAsync(path, cancellationToken),
        "PREFERENCE" => LoadPreferredAsync(path, cancellationToken),
        _ => throw new ArgumentException($"Unknown instruction format '{format}'; use one of: {string.Join(", ", Formats)}.", nameof(format)),
    };

    /// <summary>Loads Alpaca data: a JSON array of objects, or JSONL with one object per line.</summary>
    /// <param name="path">The file.</param>
    /// <param name="separator">The text between an instruction and its input.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The examples.</returns>
    public static async Task<IReadOnlyList<TrainingExample>> LoadAlpacaAsync(string path, string separator = "\n\n### Input:\n", CancellationToken cancellationToken = default)
    {
        var text = await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        if (text.TrimStart().StartsWith('['))
        {
            try
            {
                using var document = JsonDocument.Parse(text);
                var index = 0;
                var result = new List<TrainingExample>();
                foreach (var element in document.RootElement.EnumerateArray())
                {
                    index++;
                    result.Add(Alpaca(path, 0, $"element {index}", element, separator));
                }

                return result;
            }
            catch (JsonException ex)
            {
                throw new InvalidDataFileException(path, (int)(ex.LineNumber ?? -1) + 1, $"not valid JSON: {ex.Message}", ex);
            }
        }

        return Lines(path, text, (line, element) => [Alpaca(path, line, string.Empty, element, separator)]);
    }

    /// <summary>Loads Self-Instruct seed tasks (JSONL): one example per instance of each task.</summary>
    /// <param name="path">The file.</param>
    /// <param name="separator">The text between an instruction and its input.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The examples.</returns>
    public static async Task<IReadOnlyList<TrainingExample>> LoadSelfInstructAsync(string path, string separator = "\n\n### Input:\n", CancellationToken cancellationToken = default)
    {
        var text = await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        return Lines(path, text, (line, element) =>
        {
            var instruction = RequiredString(path, line, element, "instruction");
            if (!element.TryGetProperty("instances", out var instances) || instances.ValueKind != JsonValueKind.Array || instances.GetArrayLength() == 0)
            {
                throw new InvalidDataFileException(path, line, "'instances' is missing or empty; each task needs at least one {\"input\", \"output\"}.");
            }

            return instances.EnumerateArray().Select(instance =>
            {
                var input = instance.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : string.Empty;
                var output = RequiredString(path, line, instance, "output");
                return new TrainingExample { Input = Join(instruction, input, separator), Output = output, Origin = $"{path}:{line}" };
            }).ToList();
        });
    }

    /// <summary>Loads OpenAI chat fine-tuning JSONL: <c>{"messages": [{"role": "user", "content": "…"}, …]}</c> per line.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The examples, each with <see cref="TrainingExample.Messages"/>.</returns>
    public static async Task<IReadOnlyList<TrainingExample>> LoadChatAsync(string path, CancellationToken cancellationToken = default)
    {
        var text = await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        return Lines(path, text, (line, element) =>
        {
            if (!element.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            {
                throw new InvalidDataFileException(path, line, "'messages' is missing or empty.");
            }

            var list = new List<ChatMessage>();
            foreach (var message in messages.EnumerateArray())
            {
                var role = RequiredString(path, line, message, "role");
                var content = RequiredString(path, line, message, "content");
                list.Add(new ChatMessage(role switch
                {
                    "system" => ChatRole.System,
                    "user" => ChatRole.User,
                    "assistant" => ChatRole.Assistant,
                    _ => throw new InvalidDataFileException(path, line, $"role '{role}' is not system, user or assistant."),
                }, content));
            }

            if (!list.Any(m => m.Role == ChatRole.Assistant))
            {
                throw new InvalidDataFileException(path, line, "the dialogue has no assistant message, so nothing would be learned.");
            }

            return [new TrainingExample { Input = list.First(m => m.Role != ChatRole.Assistant).Text, Messages = list, Origin = $"{path}:{line}" }];
        });
    }

    /// <summary>
    /// Loads preference pairs (TRL, HH-RLHF or OpenAI preference JSONL, optionally <c>.gz</c>; see
    /// <see cref="PreferenceDataReader"/>) as instruction examples that learn each pair's preferred answer after its
    /// prompt: the "Preferred-FT" step of Rafailov et al. (2023), which makes a reference model for DPO when no
    /// instruction-tuned one exists. The prompt is kept as written; render it with
    /// <see cref="InstructionPromptFormat.Plain"/> to train on the same text <c>dpo</c> scores.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One example per pair, in file order, each with the pair's <c>file:line</c> as its origin.</returns>
    /// <exception cref="InvalidDataFileException">A line is malformed, or a pair's preferred answer is empty (nothing to learn).</exception>
    public static async Task<IReadOnlyList<TrainingExample>> LoadPreferredAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var pairs = await PreferenceDataReader.ReadPairsAsync(path, PreferenceFormat.Auto, new PreferenceLimits { AllowEmptyResponses = true }, cancellationToken).ConfigureAwait(false);
        var result = new List<TrainingExample>(pairs.Count);
        foreach (var pair in pairs)
        {
            if (string.IsNullOrWhiteSpace(pair.Chosen))
            {
                throw new InvalidDataFileException($"{pair.Origin}: the chosen response is empty, so there is no answer to learn.");
            }

            result.Add(new TrainingExample { Input = pair.Prompt, Output = pair.Chosen, Origin = pair.Origin });
        }

        return result;
    }

    private static TrainingExample Alpaca(string path, int line, string where, JsonElement element, string separator)
    {
        try
        {
            var instruction = RequiredString(path, line, element, "instruction");
            var input = element.TryGetProperty("input", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()! : string.Empty;
            var output = RequiredString(path, line, element, "output");
            return new TrainingExample { Input = Join(instruction, input, separator), Output = output, Origin = line > 0 ? $"{path}:{line}" : $"{path} {where}" };
        }
        catch (InvalidDataFileException ex) when (line == 0)
        {
            throw new InvalidDataFileException(path, 0, $"{where}: {ex.Message[(path.Length + 2)..]}", ex);
        }
    }

    private static string Join(string instruction, string input, string separator) => string.IsNullOrWhiteSpace(input) ? instruction : instruction + separator + input;

    private static string RequiredString(string path, int line, JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataFileException(path, line, $"expected a JSON object, found {element.ValueKind}.");
        }

        return element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataFileException(path, line, $"'{name}' is missing or not a string.");
    }

    private static async Task<string> ReadAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{Path.GetFullPath(path)}: no such file.", path);
        }

        return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
    }

    private static List<TrainingExample> Lines(string path, string text, Func<int, JsonElement, IEnumerable<TrainingExample>> parse)
    {
        var result = new List<TrainingExample>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataFileException(path, i + 1, $"not valid JSON: {ex.Message}", ex);
            }

            using (document)
            {
                result.AddRange(parse(i + 1, document.RootElement));
            }
        }

        if (result.Count == 0)
        {
            throw new InvalidDataFileException(path, 0, "the file has no examples.");
        }

        return result;
    }
}
