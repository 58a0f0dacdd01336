using System.IO.Compression;
using System.Text.Json;
using LlmAdapt.Formats;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Preference;

/// <summary>
/// Writes preference pairs and rankings as JSONL (gzip-compressed when the path ends in <c>.gz</c>), atomically: a
/// temporary file beside the target, flushed, then renamed over it.
/// </summary>
public static class PreferenceDataWriter
{
    /// <summary>Writes pairs in <paramref name="format"/>.</summary>
    /// <param name="path">The target file.</param>
    /// <param name="pairs">The pairs.</param>
    /// <param name="format">The shape; not <see cref="PreferenceFormat.Auto"/>.</param>
    /// <param name="cancellationToken">Stops before the rename; the target is then untouched.</param>
    /// <returns>How many pairs were written.</returns>
    /// <exception cref="ArgumentException"><paramref name="format"/> is <see cref="PreferenceFormat.Auto"/>.</exception>
    public static Task<int> WritePairsAsync(string path, IEnumerable<PreferencePair> pairs, PreferenceFormat format, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (format == PreferenceFormat.Auto)
        {
            throw new ArgumentException("Choose a format to write: TrlExplicit, TrlImplicit or OpenAI.", nameof(format));
        }

        return WriteAtomicAsync(path, pairs, (json, pair) => WritePair(json, pair, format), cancellationToken);
    }

    /// <summary>
    /// Writes rankings as <c>{"prompt", "responses", "ranking"}</c> with <c>ranking</c> listing response indices best to worst
    /// and ties grouped in inner arrays, plus <c>"scores"</c> when the ranking has them.
    /// </summary>
    /// <param name="path">The target file.</param>
    /// <param name="rankings">The rankings.</param>
    /// <param name="cancellationToken">Stops before the rename.</param>
    /// <returns>How many rankings were written.</returns>
    public static Task<int> WriteRankingsAsync(string path, IEnumerable<Ranking> rankings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rankings);
        return WriteAtomicAsync(path, rankings, WriteRanking, cancellationToken);
    }

    private static async Task<int> WriteAtomicAsync<T>(string path, IEnumerable<T> items, Action<Utf8JsonWriter, T> write, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var gzipped = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        var count = 0;
        await AtomicFile.WriteAsync(path, async (file, token) =>
        {
            var gzip = gzipped ? new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true) : null;
            Stream stream = (Stream?)gzip ?? file;
            try
            {
                using var buffer = new MemoryStream();
                var newline = "\n"u8.ToArray();
                foreach (var item in items)
                {
                    token.ThrowIfCancellationRequested();
                    buffer.SetLength(0);
                    using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                    {
                        write(json, item);
                    }

                    buffer.Write(newline);
                    await stream.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), token).ConfigureAwait(false);
                    count++;
                }
            }
            finally
            {
                if (gzip is not null)
                {
                    await gzip.DisposeAsync().ConfigureAwait(false);
                }
            }
        }, cancellationToken).ConfigureAwait(false);
        return count;
    }

    private static void WritePair(Utf8JsonWriter json, PreferencePair pair, PreferenceFormat format)
    {
        json.WriteStartObject();
        switch (format)
        {
            case PreferenceFormat.TrlExplicit:
                json.WriteString("prompt", pair.Prompt);
                json.WriteString("chosen", pair.Chosen);
                json.WriteString("rejected", pair.Rejected);
                break;
            case PreferenceFormat.TrlImplicit:
                json.WriteString("chosen", pair.Prompt + pair.Chosen);
                json.WriteString("rejected", pair.Prompt + pair.Rejected);
                break;
            case PreferenceFormat.OpenAI:
                json.WriteStartObject("input");
                json.WriteStartArray("messages");
                var messages = pair.Prompt.Contains(DialogueText.HumanMarker, StringComparison.Ordinal)
                    ? DialogueText.Parse(pair.Prompt)
                    : [new ChatMessage(ChatRole.User, pair.Prompt)];
                foreach (var message in messages)
                {
                    WriteMessage(json, message.Role.Value, message.Text);
                }

                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteStartArray("preferred_output");
                WriteMessage(json, "assistant", pair.Chosen.Trim());
                json.WriteEndArray();
                json.WriteStartArray("non_preferred_output");
                WriteMessage(json, "assistant", pair.Rejected.Trim());
                json.WriteEndArray();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown preference format.");
        }

        if (pair.Margin is { } margin)
        {
            json.WriteNumber("margin", margin);
        }

        json.WriteEndObject();
    }

    private static void WriteMessage(Utf8JsonWriter json, string role, string content)
    {
        json.WriteStartObject();
        json.WriteString("role", role);
        json.WriteString("content", content);
        json.WriteEndObject();
    }

    private static void WriteRanking(Utf8JsonWriter json, Ranking ranking)
    {
        json.WriteStartObject();
        json.WriteString("prompt", ranking.Prompt);
        json.WriteStartArray("responses");
        foreach (var r in ranking.Responses)
        {
            json.WriteStringValue(r);
        }

        json.WriteEndArray();
        json.WriteStartArray("ranking");
        foreach (var group in ranking.Ranks.Select((rank, index) => (rank, index)).GroupBy(x => x.rank).OrderBy(g => g.Key))
        {
            var members = group.Select(x => x.index).ToArray();
            if (members.Length == 1)
            {
                json.WriteNumberValue(members[0]);
            }
            else
            {
                json.WriteStartArray();
                foreach (var m in members)
                {
                    json.WriteNumberValue(m);
                }

                json.WriteEndArray();
            }
        }

        json.WriteEndArray();
        if (ranking.Scores is { } scores)
        {
            json.WriteStartArray("scores");
            foreach (var s in scores)
            {
                json.WriteNumberValue(s);
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }
}
