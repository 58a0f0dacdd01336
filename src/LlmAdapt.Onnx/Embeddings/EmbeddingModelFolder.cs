using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Onnx.Embeddings;

/// <summary>
/// What a sentence-transformers model folder says about itself: where the ONNX file and tokenizer are, and the
/// optional settings (<c>sentence_bert_config.json</c>, <c>1_Pooling/config.json</c>, <c>modules.json</c>).
/// </summary>
internal sealed class EmbeddingModelFolder
{
    private EmbeddingModelFolder(string modelPath, BertTokenizer tokenizer)
    {
        ModelPath = modelPath;
        Tokenizer = tokenizer;
    }

    public string ModelPath { get; }

    public BertTokenizer Tokenizer { get; }

    public int? MaxSequenceLength { get; private set; }

    public EmbeddingPooling? Pooling { get; private set; }

    public bool? Normalize { get; private set; }

    public static EmbeddingModelFolder Load(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.GetFullPath(directory);
        if (!Directory.Exists(full))
        {
            throw new ModelLoadException(full, "no such model folder.", null);
        }

        var modelPath = new[] { "model.onnx", Path.Combine("onnx", "model.onnx") }.Select(p => Path.Combine(full, p)).FirstOrDefault(File.Exists)
            ?? throw new ModelLoadException(Path.Combine(full, "model.onnx"), "no such file (looked for model.onnx and onnx/model.onnx).", null);

        bool? lowerCase = null;
        var tokenizerConfig = Path.Combine(full, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig))
        {
            using var doc = ParseJson(tokenizerConfig);
            if (doc.RootElement.TryGetProperty("do_lower_case", out var lower) && lower.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                lowerCase = lower.GetBoolean();
            }
        }

        BertTokenizer tokenizer;
        var vocabPath = Path.Combine(full, "vocab.txt");
        var tokenizerJson = Path.Combine(full, "tokenizer.json");
        if (File.Exists(vocabPath))
        {
            tokenizer = CreateTokenizer(vocabPath, () => File.OpenRead(vocabPath), lowerCase);
        }
        else if (File.Exists(tokenizerJson))
        {
            tokenizer = LoadTokenizerJson(tokenizerJson, lowerCase);
        }
        else
        {
            throw new ModelLoadException(vocabPath, "no such file (a BERT model folder needs vocab.txt or tokenizer.json).", null);
        }

        var folder = new EmbeddingModelFolder(modelPath, tokenizer);
        folder.ReadSentenceTransformersSettings(full);
        return folder;
    }

    /// <summary>Creates the BERT WordPiece tokenizer from a vocabulary (one token a line, id = line number).</summary>
    public static BertTokenizer CreateTokenizer(string displayPath, Func<Stream> open, bool? lowerCase)
    {
        try
        {
            using var stream = open();
            // As Hugging Face's BertTokenizer: lower-casing is the default, and accents are stripped exactly when lower-casing.
            var lower = lowerCase ?? true;
            var options = new BertOptions
            {
                PreTokenizer = BertBasicPreTokenizer.Instance,
                LowerCaseBeforeTokenization = lower,
                RemoveNonSpacingMarks = lower,
            };

            return BertTokenizer.Create(stream, options);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new ModelLoadException(displayPath, $"not a usable WordPiece vocabulary: {ex.Message}", ex);
        }
    }

    private static BertTokenizer LoadTokenizerJson(string path, bool? lowerCase)
    {
        using var doc = ParseJson(path);
        var root = doc.RootElement;
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object
            || !model.TryGetProperty("type", out var type) || type.GetString() != "WordPiece"
            || !model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException(path, "not a WordPiece (BERT) tokenizer: expected model.type \"WordPiece\" with a model.vocab object.", null);
        }

        var tokens = new SortedDictionary<int, string>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out var id) || id < 0 || !tokens.TryAdd(id, entry.Name))
            {
                throw new ModelLoadException(path, $"model.vocab entry \"{entry.Name}\" has a bad or repeated id {entry.Value}.", null);
            }
        }

        if (tokens.Count == 0 || tokens.Keys.Last() != tokens.Count - 1)
        {
            throw new ModelLoadException(path, $"model.vocab ids are not 0..{tokens.Count - 1} without gaps.", null);
        }

        if (lowerCase is null && root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object
            && normalizer.TryGetProperty("lowercase", out var lower) && lower.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            lowerCase = lower.GetBoolean();
        }

        var text = new StringBuilder();
        foreach (var token in tokens.Values)
        {
            text.Append(token).Append('\n');
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        return CreateTokenizer(path, () => new MemoryStream(bytes, writable: false), lowerCase);
    }

    private void ReadSentenceTransformersSettings(string directory)
    {
        var bertConfig = Path.Combine(directory, "sentence_bert_config.json");
        if (File.Exists(bertConfig))
        {
            using var doc = ParseJson(bertConfig);
            if (doc.RootElement.TryGetProperty("max_seq_length", out var max) && max.TryGetInt32(out var value) && value >= 2)
            {
                MaxSequenceLength = value;
            }
        }

        var pooling = Path.Combine(directory, "1_Pooling", "config.json");
        if (File.Exists(pooling))
        {
            using var doc = ParseJson(pooling);
            var root = doc.RootElement;
            bool Flag(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
            if (Flag("pooling_mode_mean_tokens"))
            {
                Pooling = EmbeddingPooling.Mean;
            }
            else if (Flag("pooling_mode_cls_token"))
            {
                Pooling = EmbeddingPooling.Cls;
            }
            else
            {
                throw new ModelLoadException(pooling, "only mean and CLS pooling are supported (pooling_mode_mean_tokens or pooling_mode_cls_token must be true).", null);
            }
        }

        var modules = Path.Combine(directory, "modules.json");
        if (File.Exists(modules))
        {
            using var doc = ParseJson(modules);
            Normalize = doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.EnumerateArray().Any(m =>
                m.TryGetProperty("type", out var t) && t.GetString()?.EndsWith(".Normalize", StringComparison.Ordinal) == true);
        }
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(path, $"not valid JSON: {ex.Message}", ex);
        }
    }
}
