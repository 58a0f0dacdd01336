using System.Text.Json;
using LlmAdapt.Formats;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Preference;

/// <summary>
/// Reads preference pairs and rankings from JSONL files (optionally gzip-compressed, by a <c>.gz</c> extension) in the
/// shapes TRL, HH-RLHF and OpenAI use. Blank lines are skipped; every other problem is an
/// <see cref="InvalidDataFileException"/> naming the file and line.
/// </summary>
public static class PreferenceDataReader
{
    /// <summary>Reads preference pairs.</summary>
    /// <param name="path">The JSONL (or JSONL.gz) file.</param>
    /// <param name="format">The shape of the lines, or <see cref="PreferenceFormat.Auto"/> to tell from each line's fields.</param>
    /// <param name="limits">The bounds each pair is held to, or <see langword="null"/> for <see cref="PreferenceLimits.Default"/>.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The pairs in file order; each carries its <c>file:line</c> as <see cref="PreferencePair.Origin"/>.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">A line is not JSON, lacks a field, breaks a limit, or the file holds no pairs.</exception>
    public static async Task<IReadOnlyList<PreferencePair>> ReadPairsAsync(string path, PreferenceFormat format = PreferenceFormat.Auto, PreferenceLimits? limits = null, CancellationToken cancellationToken = default)
    {
        limits ??= PreferenceLimits.Default;
        var result = new List<PreferencePair>();
        await foreach (var (line, root) in JsonLines.ReadObjectsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            using (root)
            {
                var origin = $"{path}:{line}";
                var pair = ParsePair(path, line, root.RootElement, format) with { Origin = origin };
                var problem = limits.Check(pair);
                if (problem is not null)
                {
                    throw new InvalidDataFileException(path, line, problem);
                }

                result.Add(pair);
            }
        }

        if (result.Count == 0)
        {
            throw new InvalidDataFileException(path, 0, "the file holds no preference pairs.");
        }

        return result;
    }

    /// <summary>
    /// Reads rankings: <c>{"prompt", "responses": [...], "ranking": [...]}</c> where <c>ranking</c> lists response indices
    /// (0-based) best to worst and an inner array is a group of ties (<c>[2, [0, 3], 1]</c>); or <c>"ranks"</c>, each
    /// response's rank parallel to <c>responses</c> (1 best, equal ranks tie); or <c>"scores"</c>, higher is better,
    /// equal scores tie.
    /// </summary>
    /// <param name="path">The JSONL (or JSONL.gz) file.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The rankings in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">A line is malformed (the line and problem are named) or the file is empty.</exception>
    public static async Task<IReadOnlyList<Ranking>> ReadRankingsAsync(string path, CancellationToken cancellationToken = default)
    {
        var result = new List<Ranking>();
        await foreach (var (line, root) in JsonLines.ReadObjectsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            using (root)
            {
                result.Add(ParseRanking(path, line, root.RootElement));
            }
        }

        if (result.Count == 0)
        {
            throw new InvalidDataFileException(path, 0, "the file holds no rankings.");
        }

        return result;
    }

    private static PreferencePair ParsePair(string path, int line, JsonElement root, PreferenceFormat format)
    {
        if (format == PreferenceFormat.Auto)
        {
            format = root.TryGetProperty("preferred_output", out _) || root.TryGetProperty("input", out _) ? PreferenceFormat.OpenAI
                : root.TryGetProperty("prompt", out _) && !root.TryGetProperty("responses", out _) ? PreferenceFormat.TrlExplicit
                : root.TryGetProperty("chosen", out _) ? PreferenceFormat.TrlImplicit
                : root.TryGetProperty("responses", out _)
                    ? throw new InvalidDataFileException(path, line, "this line is a ranking (it has 'responses'); turn rankings into pairs first (RankingPairs, or 'llmadapt pairs from-rankings').")
                    : throw new InvalidDataFileException(path, line, $"cannot tell the format: found fields [{string.Join(", ", root.EnumerateObject().Select(p => p.Name))}]; expected prompt/chosen/rejected, chosen/rejected, or input/preferred_output/non_preferred_output.");
        }

        double? margin = root.TryGetProperty("margin", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetDouble() : null;
        switch (format)
        {
            case PreferenceFormat.TrlExplicit:
                {
                    var prompt = TextOrMessages(path, line, root, "prompt", cueAssistant: true);
                    var chosen = TextOrMessages(path, line, root, "chosen", cueAssistant: false, responseOnly: true);
                    var rejected = TextOrMessages(path, line, root, "rejected", cueAssistant: false, responseOnly: true);
                    return new PreferencePair { Prompt = prompt, Chosen = chosen, Rejected = rejected, Margin = margin };
                }

            case PreferenceFormat.TrlImplicit:
                {
                    var chosenAll = TextOrMessages(path, line, root, "chosen", cueAssistant: false);
                    var rejectedAll = TextOrMessages(path, line, root, "rejected", cueAssistant: false);
                    var (prompt, chosen, rejected) = DialogueText.SplitSharedPrompt(chosenAll, rejectedAll);
                    return new PreferencePair { Prompt = prompt, Chosen = chosen, Rejected = rejected, Margin = margin };
                }

            case PreferenceFormat.OpenAI:
                {
                    if (!root.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Object
                        || !input.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
                    {
                        throw new InvalidDataFileException(path, line, "missing 'input.messages' (an array of {role, content}).");
                    }

                    var list = ReadMessages(path, line, messages, "input.messages");
                    var prompt = DialogueText.PromptOf(list);
                    var chosen = AssistantOutput(path, line, root, "preferred_output");
                    var rejected = AssistantOutput(path, line, root, "non_preferred_output");
                    return new PreferencePair { Prompt = prompt, Chosen = chosen, Rejected = rejected, Margin = margin };
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown preference format.");
        }
    }

    private static string AssistantOutput(string path, int line, JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var output) || output.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataFileException(path, line, $"missing '{name}' (an array with one assistant message).");
        }

        var messages = ReadMessages(path, line, output, name);
        if (messages.Count != 1 || messages[0].Role != ChatRole.Assistant)
        {
            throw new InvalidDataFileException(path, line, $"'{name}' must hold exactly one assistant message; it holds {messages.Count} ({string.Join(", ", messages.Select(x => x.Role.Value))}).");
        }

        return messages[0].Text;
    }

    private static string TextOrMessages(string path, int line, JsonElement root, string name, bool cueAssistant, bool responseOnly = false)
    {
        if (!root.TryGetProperty(name, out var value))
        {
            throw new InvalidDataFileException(path, line, $"missing '{name}'.");
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString()!;
            case JsonValueKind.Array:
                var messages = ReadMessages(path, line, value, name);
                if (responseOnly)
                {
                    if (messages.Count != 1)
                    {
                        throw new InvalidDataFileException(path, line, $"'{name}' holds {messages.Count} messages; a response is one assistant message.");
                    }

                    return messages[0].Text;
                }

                return DialogueText.Format(messages, cueAssistant);
            default:
                throw new InvalidDataFileException(path, line, $"'{name}' is {value.ValueKind}; expected a string or an array of messages.");
        }
    }

    private static List<ChatMessage> ReadMessages(string path, int line, JsonElement array, string name)
    {
        var result = new List<ChatMessage>();
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !item.TryGetProperty("content", out var content))
            {
                throw new InvalidDataFileException(path, line, $"'{name}[{index}]' is not a message with 'role' and 'content'.");
            }

            var text = content.ValueKind switch
            {
                JsonValueKind.String => content.GetString()!,
                JsonValueKind.Array => string.Concat(content.EnumerateArray()
                    .Where(part => part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out _))
                    .Select(part => part.GetProperty("text").GetString())),
                _ => throw new InvalidDataFileException(path, line, $"'{name}[{index}].content' is {content.ValueKind}; expected text."),
            };
            result.Add(new ChatMessage(new ChatRole(role.GetString()!), text));
            index++;
        }

        return result;
    }

    private static Ranking ParseRanking(string path, int line, JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var promptElement) || promptElement.ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataFileException(path, line, "missing 'prompt' (a string).");
        }

        if (!root.TryGetProperty("responses", out var responsesElement) || responsesElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataFileException(path, line, "missing 'responses' (an array of strings).");
        }

        var responses = new List<string>();
        foreach (var r in responsesElement.EnumerateArray())
        {
            if (r.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataFileException(path, line, $"'responses[{responses.Count}]' is {r.ValueKind}; expected a string.");
            }

            responses.Add(r.GetString()!);
        }

        var k = responses.Count;
        int[]? ranks = null;
        double[]? scores = null;
        if (root.TryGetProperty("ranking", out var ranking))
        {
            ranks = RanksFromOrder(path, line, ranking, k);
        }
        else if (root.TryGetProperty("ranks", out var ranksElement))
        {
            ranks = ReadArray(path, line, ranksElement, "ranks", k, e => e.TryGetInt32(out var v) && v >= 1 ? v : throw new InvalidDataFileException(path, line, "'ranks' must hold whole numbers from 1 (best)."));
        }

        if (root.TryGetProperty("scores", out var scoresElement))
        {
            scores = ReadArray(path, line, scoresElement, "scores", k, e => e.GetDouble() is var v && double.IsFinite(v) ? v : throw new InvalidDataFileException(path, line, "'scores' must hold finite numbers."));
            ranks ??= RankingPairs.RanksFromScores(scores);
        }

        if (ranks is null)
        {
            throw new InvalidDataFileException(path, line, "a ranking needs 'ranking' (indices best to worst), 'ranks' or 'scores'.");
        }

        return new Ranking { Prompt = promptElement.GetString()!, Responses = responses, Ranks = ranks, Scores = scores, Origin = $"{path}:{line}" };
    }

    private static T[] ReadArray<T>(string path, int line, JsonElement element, string name, int k, Func<JsonElement, T> read)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataFileException(path, line, $"'{name}' must be an array.");
        }

        var values = element.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number ? read(e) : throw new InvalidDataFileException(path, line, $"'{name}' must hold numbers.")).ToArray();
        if (values.Length != k)
        {
            throw new InvalidDataFileException(path, line, $"'{name}' has {values.Length} entries but there are {k} responses.");
        }

        return values;
    }

    private static int[] RanksFromOrder(string path, int line, JsonElement ranking, int k)
    {
        if (ranking.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataFileException(path, line, "'ranking' must be an array of response indices, best first (an inner array is a group of ties).");
        }

        var ranks = new int[k];
        var rank = 1;
        foreach (var group in ranking.EnumerateArray())
        {
            var members = group.ValueKind == JsonValueKind.Array ? group.EnumerateArray().ToArray() : [group];
            foreach (var member in members)
            {
                if (member.ValueKind != JsonValueKind.Number || !member.TryGetInt32(out var index))
                {
                    throw new InvalidDataFileException(path, line, "'ranking' must hold whole-number response indices.");
                }

                if (index < 0 || index >= k)
                {
                    throw new InvalidDataFileException(path, line, $"'ranking' names response {index} but there are {k} responses (indices 0 to {k - 1}).");
                }

                if (ranks[index] != 0)
                {
                    throw new InvalidDataFileException(path, line, $"'ranking' names response {index} twice.");
                }

                ranks[index] = rank;
            }

            rank++;
        }

        var missing = Enumerable.Range(0, k).Where(i => ranks[i] == 0).ToArray();
        if (missing.Length > 0)
        {
            throw new InvalidDataFileException(path, line, $"'ranking' leaves out response(s) {string.Join(", ", missing)} of {k}.");
        }

        return ranks;
    }
}
