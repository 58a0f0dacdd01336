using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LlmAdapt.Formats;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Preference.Feedback;

/// <summary>
/// The default <see cref="IFeedbackStore"/>: an append-only JSON Lines file, one record a line, each append written in
/// one call and (by default) flushed to disk before it returns. A crash can only cut the last line short; such a torn
/// line is skipped with a warning when reading and cut off before the next append, so the file never holds a corrupt
/// record in the middle. Appends from one process are serialized; one process should write a given file at a time.
/// </summary>
public sealed partial class JsonLinesFeedbackStore : IFeedbackStore, IDisposable
{
    private readonly JsonLinesFeedbackStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private FileStream? _stream;
    private bool _disposed;

    /// <summary>Initializes a store over <see cref="JsonLinesFeedbackStoreOptions.Path"/>; nothing is opened until the first append.</summary>
    /// <param name="options">The file and the durability and redaction settings.</param>
    /// <param name="timeProvider">Stamps records that carry no time, or <see langword="null"/> for the system clock.</param>
    /// <param name="logger">Receives warnings about torn lines, or <see langword="null"/>.</param>
    /// <exception cref="InvalidOptionsException">No path is set.</exception>
    public JsonLinesFeedbackStore(JsonLinesFeedbackStoreOptions options, TimeProvider? timeProvider = null, ILogger<JsonLinesFeedbackStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionsValidator.ThrowIfInvalid(options);

        _options = options;
        FilePath = System.IO.Path.GetFullPath(options.Path);
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Gets the full path of the file.</summary>
    public string FilePath { get; }

    /// <summary>Gets how many torn last lines the store has met so far (skipped when reading, cut off before appending).</summary>
    public int TornLines { get; private set; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The record (after redaction) is malformed; the message names the field.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public async Task AppendAsync(FeedbackRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_options.Redact is { } redact)
        {
            record = redact(record) ?? throw new InvalidOperationException($"{nameof(JsonLinesFeedbackStoreOptions.Redact)} returned null.");
        }

        if (record.Check() is { } problem)
        {
            throw new ArgumentException($"Feedback record {record.Id}: {problem}", nameof(record));
        }

        if (record.Timestamp == default)
        {
            record = record with { Timestamp = _time.GetUtcNow() };
        }

        var line = Serialize(record);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream ??= OpenForAppend();

            // Once the write has begun it is not cancelled: a half-written line is what this store exists to avoid.
            await _stream.WriteAsync(line, CancellationToken.None).ConfigureAwait(false);
            await _stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            if (_options.FlushToDisk)
            {
                _stream.Flush(flushToDisk: true);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataFileException">A line other than a torn last one is malformed; the message names the file and line.</exception>
    public async IAsyncEnumerable<FeedbackRecord> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!File.Exists(FilePath))
        {
            yield break;
        }

        await foreach (var (line, document) in JsonLines.ReadObjectsAsync(FilePath, OnTornLine, cancellationToken).ConfigureAwait(false))
        {
            using (document)
            {
                yield return Deserialize(document.RootElement, FilePath, line);
            }
        }
    }

    /// <summary>Reads a feedback file written by this store (or by hand in its format) without opening it for writing.</summary>
    /// <param name="path">The JSON Lines file.</param>
    /// <param name="onTornLastLine">Receives the number of a torn last line that was skipped, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The records, oldest first.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataFileException">A line other than a torn last one is malformed; the message names the file and line.</exception>
    public static async IAsyncEnumerable<FeedbackRecord> ReadFileAsync(string path, Action<int>? onTornLastLine = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var (line, document) in JsonLines.ReadObjectsAsync(path, onTornLastLine ?? (_ => { }), cancellationToken).ConfigureAwait(false))
        {
            using (document)
            {
                yield return Deserialize(document.RootElement, path, line);
            }
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _gate.Wait();
        try
        {
            _disposed = true;
            _stream?.Dispose();
            _stream = null;
        }
        finally
        {
            _gate.Release();
        }

        _gate.Dispose();
    }

    private void OnTornLine(int line)
    {
        TornLines++;
        LogTornLine(_logger, FilePath, line);
    }

    private FileStream OpenForAppend()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(FilePath)!);
        var stream = new FileStream(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 12, useAsync: true);
        try
        {
            CutTornTail(stream);
            stream.Seek(0, SeekOrigin.End);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A file that does not end with a line break was cut short mid-append: a complete record only lost its line break
    /// (it gets one back); anything else is cut off, so the next record starts on a line of its own.
    /// </summary>
    private void CutTornTail(FileStream stream)
    {
        var length = stream.Length;
        if (length == 0)
        {
            return;
        }

        stream.Seek(length - 1, SeekOrigin.Begin);
        if (stream.ReadByte() == '\n')
        {
            return;
        }

        // Find the start of the last line.
        var start = length - 1;
        var buffer = new byte[4096];
        while (start > 0)
        {
            var chunk = (int)Math.Min(buffer.Length, start);
            stream.Seek(start - chunk, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, chunk);
            var at = Array.LastIndexOf(buffer, (byte)'\n', chunk - 1, chunk);
            if (at >= 0)
            {
                start = start - chunk + at + 1;
                break;
            }

            start -= chunk;
        }

        var tail = new byte[length - start];
        stream.Seek(start, SeekOrigin.Begin);
        stream.ReadExactly(tail);
        var complete = false;
        try
        {
            using var document = JsonDocument.Parse(tail);
            complete = document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
        }

        if (complete)
        {
            stream.Seek(0, SeekOrigin.End);
            stream.WriteByte((byte)'\n');
        }
        else
        {
            TornLines++;
            LogTornTailCut(_logger, FilePath, tail.Length);
            stream.SetLength(start);
        }

        stream.Flush(flushToDisk: _options.FlushToDisk);
    }

    private static byte[] Serialize(FeedbackRecord record)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", record.Id);
            json.WriteString("response_id", record.ResponseId);
            json.WriteString("time", record.Timestamp);
            json.WriteString("kind", KindName(record.Kind));
            json.WriteString("source", record.Source);
            json.WriteString("prompt", record.Prompt);
            json.WriteStartArray("responses");
            foreach (var response in record.Responses)
            {
                json.WriteStringValue(response);
            }

            json.WriteEndArray();
            if (record.ThumbsUp is { } up)
            {
                json.WriteBoolean("thumbs_up", up);
            }

            if (record.Score is { } score)
            {
                json.WriteNumber("score", score);
            }

            if (record.Ranks is { } ranks)
            {
                json.WriteStartArray("ranks");
                foreach (var rank in ranks)
                {
                    json.WriteNumberValue(rank);
                }

                json.WriteEndArray();
            }

            if (record.Scores is { } scores)
            {
                json.WriteStartArray("scores");
                foreach (var value in scores)
                {
                    json.WriteNumberValue(value);
                }

                json.WriteEndArray();
            }

            if (record.Metadata is { Count: > 0 } metadata)
            {
                json.WriteStartObject("metadata");
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static FeedbackRecord Deserialize(JsonElement root, string path, int line)
    {
        try
        {
            var kind = KindOf(root.GetProperty("kind").GetString());
            var record = new FeedbackRecord
            {
                Id = root.TryGetProperty("id", out var id) ? id.GetString() ?? string.Empty : string.Empty,
                ResponseId = root.GetProperty("response_id").GetString() ?? string.Empty,
                Kind = kind,
                Prompt = root.GetProperty("prompt").GetString() ?? throw new InvalidOperationException("'prompt' is null."),
                Responses = root.GetProperty("responses").EnumerateArray().Select(e => e.GetString() ?? throw new InvalidOperationException("a response is null.")).ToArray(),
                ThumbsUp = root.TryGetProperty("thumbs_up", out var up) ? up.GetBoolean() : null,
                Score = root.TryGetProperty("score", out var score) ? score.GetDouble() : null,
                Ranks = root.TryGetProperty("ranks", out var ranks) ? ranks.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null,
                Scores = root.TryGetProperty("scores", out var scores) ? scores.EnumerateArray().Select(e => e.GetDouble()).ToArray() : null,
                Source = root.TryGetProperty("source", out var source) ? source.GetString() ?? "user" : "user",
                Timestamp = root.TryGetProperty("time", out var time) ? time.GetDateTimeOffset() : default,
                Metadata = root.TryGetProperty("metadata", out var metadata)
                    ? metadata.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty, StringComparer.Ordinal)
                    : null,
                Origin = FormattableString.Invariant($"{path}:{line}"),
            };
            return record.Check() is { } problem ? throw new InvalidDataFileException(path, line, problem) : record;
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataFileException(path, line, $"not a feedback record ({ex.Message}).", ex);
        }
    }

    private static string KindName(FeedbackKind kind) => kind switch
    {
        FeedbackKind.Thumbs => "thumbs",
        FeedbackKind.Score => "score",
        FeedbackKind.Ranking => "ranking",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown feedback kind."),
    };

    private static FeedbackKind KindOf(string? name) => name switch
    {
        "thumbs" => FeedbackKind.Thumbs,
        "score" => FeedbackKind.Score,
        "ranking" => FeedbackKind.Ranking,
        _ => throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"'kind' is '{name}'; expected thumbs, score or ranking.")),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}:{Line}: skipped a torn last line (an append cut short by a crash).")]
    private static partial void LogTornLine(ILogger logger, string path, int line);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: cut off a torn last line of {Bytes} bytes (an append cut short by a crash) before appending.")]
    private static partial void LogTornTailCut(ILogger logger, string path, int bytes);
}
