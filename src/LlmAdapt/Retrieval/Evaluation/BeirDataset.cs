using System.Globalization;
using System.Text.Json;

namespace LlmAdapt.Retrieval.Evaluation;

/// <summary>
/// A retrieval test collection in the BEIR layout: <c>corpus.jsonl</c> (<c>_id</c>, <c>title</c>, <c>text</c>),
/// <c>queries.jsonl</c> (<c>_id</c>, <c>text</c>) and <c>qrels/{split}.tsv</c> (<c>query-id</c>, <c>corpus-id</c>,
/// <c>score</c>, graded; 0 or less is not relevant).
/// </summary>
public sealed class BeirDataset
{
    private BeirDataset(string directory, IReadOnlyList<Document> corpus, IReadOnlyDictionary<string, string> queries, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> judgments)
    {
        Directory = directory;
        Corpus = corpus;
        Queries = queries;
        Judgments = judgments;
    }

    /// <summary>Gets the folder the collection was loaded from.</summary>
    public string Directory { get; }

    /// <summary>Gets the documents, in file order.</summary>
    public IReadOnlyList<Document> Corpus { get; }

    /// <summary>Gets every query's text by id.</summary>
    public IReadOnlyDictionary<string, string> Queries { get; }

    /// <summary>Gets the relevance judgments: query id → (document id → grade).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Judgments { get; }

    /// <summary>Gets the ids of the queries that have judgments and text, in id order (numeric ids numerically).</summary>
    public IReadOnlyList<string> JudgedQueryIds => [.. Judgments.Keys.Where(Queries.ContainsKey).Order(IdComparer.Instance)];

    /// <summary>Loads a collection.</summary>
    /// <param name="directory">The folder holding <c>corpus.jsonl</c>, <c>queries.jsonl</c> and <c>qrels/</c>.</param>
    /// <param name="split">The qrels split; <c>test</c> by default.</param>
    /// <param name="cancellationToken">Stops loading.</param>
    /// <returns>The collection.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataFileException">A file is missing, or a line is malformed (the message names the file and line).</exception>
    public static async Task<BeirDataset> LoadAsync(string directory, string split = "test", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(split);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory}: no such folder (expected a BEIR folder with corpus.jsonl, queries.jsonl and qrels/{split}.tsv).");
        }

        var corpusPath = Require(Path.Combine(directory, "corpus.jsonl"));
        var queriesPath = Require(Path.Combine(directory, "queries.jsonl"));
        var qrelsPath = Require(Path.Combine(directory, "qrels", split + ".tsv"));

        var corpus = new List<Document>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var (line, json) in ReadJsonLinesAsync(corpusPath, cancellationToken).ConfigureAwait(false))
        {
            var id = RequiredString(json, "_id", corpusPath, line);
            if (!ids.Add(id))
            {
                throw new InvalidDataFileException(corpusPath, line, $"document id '{id}' appears twice.");
            }

            corpus.Add(new Document
            {
                Id = id,
                Title = OptionalString(json, "title", corpusPath, line),
                Text = OptionalString(json, "text", corpusPath, line) ?? string.Empty,
                Source = id,
            });
        }

        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var (line, json) in ReadJsonLinesAsync(queriesPath, cancellationToken).ConfigureAwait(false))
        {
            var id = RequiredString(json, "_id", queriesPath, line);
            if (!queries.TryAdd(id, RequiredString(json, "text", queriesPath, line)))
            {
                throw new InvalidDataFileException(queriesPath, line, $"query id '{id}' appears twice.");
            }
        }

        var judgments = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var text in await File.ReadAllLinesAsync(qrelsPath, cancellationToken).ConfigureAwait(false))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            var fields = text.Split('\t');
            if (lineNumber == 1 && fields.Length >= 1 && fields[0] == "query-id")
            {
                continue;
            }

            if (fields.Length != 3)
            {
                throw new InvalidDataFileException(qrelsPath, lineNumber, $"expected 3 tab-separated fields (query-id, corpus-id, score), found {fields.Length}.");
            }

            if (!int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var grade))
            {
                throw new InvalidDataFileException(qrelsPath, lineNumber, $"the score '{fields[2]}' is not an integer.");
            }

            if (!judgments.TryGetValue(fields[0], out var forQuery))
            {
                judgments[fields[0]] = forQuery = new Dictionary<string, int>(StringComparer.Ordinal);
            }

            forQuery[fields[1]] = grade;
        }

        return new BeirDataset(
            directory,
            corpus,
            queries,
            judgments.ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, int>)p.Value, StringComparer.Ordinal));
    }

    /// <summary>Cuts every document into one chunk (BEIR judges whole documents), keeping title and id.</summary>
    /// <returns>The chunks.</returns>
    public IReadOnlyList<DocumentChunk> ToChunks() =>
        [.. Corpus.Select(d => new DocumentChunk { Id = d.Id, DocumentId = d.Id, Text = d.Text, Title = d.Title, Source = d.Source, EndOffset = d.Text.Length })];

    private static string Require(string path) =>
        File.Exists(path) ? path : throw new InvalidDataFileException(path, 0, "missing: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv.");

    private static async IAsyncEnumerable<(int Line, JsonElement Json)> ReadJsonLinesAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lineNumber = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            JsonElement json;
            try
            {
                using var document = JsonDocument.Parse(text);
                json = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new InvalidDataFileException(path, lineNumber, $"not valid JSON: {ex.Message}", ex);
            }

            if (json.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataFileException(path, lineNumber, $"expected a JSON object, found {json.ValueKind}.");
            }

            yield return (lineNumber, json);
        }
    }

    private static string RequiredString(JsonElement json, string name, string path, int line) =>
        OptionalString(json, name, path, line) ?? throw new InvalidDataFileException(path, line, $"the field '{name}' is missing.");

    private static string? OptionalString(JsonElement json, string name, string path, int line)
    {
        if (!json.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => throw new InvalidDataFileException(path, line, $"the field '{name}' is a {value.ValueKind}, expected a string."),
        };
    }

    private sealed class IdComparer : IComparer<string>
    {
        public static readonly IdComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (long.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var a) && long.TryParse(y, NumberStyles.Integer, CultureInfo.InvariantCulture, out var b))
            {
                return a.CompareTo(b);
            }

            return string.CompareOrdinal(x, y);
        }
    }
}
