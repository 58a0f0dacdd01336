using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Tokens;

/// <summary>
/// A Hugging Face model folder's tokenizer (<c>tokenizer.json</c>, with <c>tokenizer_config.json</c> for its special
/// tokens) as a Microsoft.ML.Tokenizers <see cref="Microsoft.ML.Tokenizers.Tokenizer"/>, which that library (2.0.1)
/// cannot read itself. Byte-level BPE (GPT-2, CodeGen, Qwen 2.5, Llama 3, SmolLM2) becomes a
/// <see cref="BpeTokenizer"/> in byte-level mode that runs the file's own pipeline: added tokens cut out first, then its
/// normalizers (<c>NFC</c>, <c>NFD</c>, <c>NFKC</c>, <c>NFKD</c>, <c>Lowercase</c>, <c>add_prefix_space</c>) and
/// pre-tokenizers (<c>Split</c> with every behaviour and <c>invert</c>, <c>Digits</c>, <c>Punctuation</c>,
/// <c>ByteLevel</c>'s <c>use_regex</c>), and BPE's <c>ignore_merges</c>. SentencePiece-style BPE (<c>Metaspace</c>, or
/// <c>Prepend("▁")</c> + <c>Replace(" ", "▁")</c>, with byte fallback: Llama 2, Mistral, TinyLlama) becomes a
/// <see cref="LlamaTokenizer"/> over a SentencePiece model written from the same vocabulary and merges.
/// Create one with <see cref="Load"/> (strict) or <see cref="Read"/> (keeps the special tokens of a file it cannot run).
/// </summary>
public sealed class HuggingFaceTokenizer
{
    private const char Metaspace = '\u2581';

    private readonly IReadOnlyDictionary<string, int> _ids;

    private HuggingFaceTokenizer(string directory, Tokenizer? tokenizer, HuggingFaceTokenizerKind kind, string? problem, Dictionary<string, int> ids, Dictionary<string, int> special, Dictionary<string, int> added, JsonObject config)
    {
        Directory = directory;
        Tokenizer = tokenizer;
        Kind = tokenizer is null ? HuggingFaceTokenizerKind.None : kind;
        Problem = problem;
        _ids = ids;
        SpecialTokens = special;
        AddedTokens = added;
        EndOfSequenceToken = TokenText(config["eos_token"]);
        BeginningOfSequenceToken = TokenText(config["bos_token"]);
        PaddingToken = TokenText(config["pad_token"]);
        AddBeginningOfSequence = config["add_bos_token"] is JsonValue b && b.TryGetValue<bool>(out var flag) ? flag : Kind == HuggingFaceTokenizerKind.SentencePieceBpe;
    }

    /// <summary>Gets the folder the files were read from (a full path).</summary>
    public string Directory { get; }

    /// <summary>Gets the tokenizer, or <see langword="null"/> when the folder has none this reader can run (see <see cref="Problem"/>).</summary>
    /// <remarks>
    /// A <see cref="LlamaTokenizer"/> adds the beginning-of-sequence id itself when <see cref="AddBeginningOfSequence"/>
    /// is <see langword="true"/>, as Hugging Face's does; a <see cref="BpeTokenizer"/> never does.
    /// </remarks>
    public Tokenizer? Tokenizer { get; }

    /// <summary>Gets how <see cref="Tokenizer"/> was built, or <see cref="HuggingFaceTokenizerKind.None"/> when it is <see langword="null"/>.</summary>
    public HuggingFaceTokenizerKind Kind { get; }

    /// <summary>Gets why <see cref="Tokenizer"/> is <see langword="null"/> (naming the file and the part it cannot honour), or <see langword="null"/>.</summary>
    public string? Problem { get; }

    /// <summary>Gets the added tokens marked <c>special</c> (chat markers, <c>&lt;/s&gt;</c>): text to their ids.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Gets every added token, special or not (CodeGen's whitespace runs are not): Hugging Face cuts text at them before BPE.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>Gets the end-of-sequence token's text from <c>tokenizer_config.json</c> (<c>eos_token</c>), or <see langword="null"/>.</summary>
    public string? EndOfSequenceToken { get; }

    /// <summary>Gets the id of <see cref="EndOfSequenceToken"/>, or <see langword="null"/> when there is none or it is not in the vocabulary.</summary>
    public int? EndOfSequenceId => TokenToId(EndOfSequenceToken);

    /// <summary>Gets the beginning-of-sequence token's text (<c>bos_token</c>), or <see langword="null"/>.</summary>
    public string? BeginningOfSequenceToken { get; }

    /// <summary>Gets the id of <see cref="BeginningOfSequenceToken"/>, or <see langword="null"/>.</summary>
    public int? BeginningOfSequenceId => TokenToId(BeginningOfSequenceToken);

    /// <summary>Gets the padding token's text (<c>pad_token</c>), or <see langword="null"/>.</summary>
    public string? PaddingToken { get; }

    /// <summary>Gets the id of <see cref="PaddingToken"/>, or <see langword="null"/>.</summary>
    public int? PaddingId => TokenToId(PaddingToken);

    /// <summary>
    /// Gets whether a beginning-of-sequence id goes before the text: <c>add_bos_token</c> of <c>tokenizer_config.json</c>,
    /// else <see langword="true"/> for SentencePiece-style BPE (Hugging Face's Llama default) and <see langword="false"/> otherwise.
    /// </summary>
    public bool AddBeginningOfSequence { get; }

    /// <summary>Looks a token up among the added tokens, then the vocabulary.</summary>
    /// <param name="token">The token's text as <c>tokenizer.json</c> writes it (byte-level vocabularies write a space as <c>Ġ</c>).</param>
    /// <returns>The id, or <see langword="null"/> when <paramref name="token"/> is null or not there.</returns>
    public int? TokenToId(string? token) => token is not null && _ids.TryGetValue(token, out var id) ? id : null;

    /// <summary>Loads a folder's tokenizer, refusing one it cannot run.</summary>
    /// <param name="directory">The folder holding <c>tokenizer.json</c> (and optionally <c>tokenizer_config.json</c>).</param>
    /// <returns>The tokenizer; its <see cref="Tokenizer"/> is not <see langword="null"/>.</returns>
    /// <exception cref="ModelLoadException">A file is missing, malformed, or describes a tokenizer this reader cannot run; the message names the file and why.</exception>
    public static HuggingFaceTokenizer Load(string directory)
    {
        var loaded = Read(directory);
        return loaded.Tokenizer is not null ? loaded : throw new ModelLoadException(Path.Combine(loaded.Directory, "tokenizer.json"), loaded.Problem!, null);
    }

    /// <summary>
    /// Reads a folder's tokenizer files. A missing <c>tokenizer.json</c> or one this reader cannot run (Unigram, WordPiece, a
    /// pre-tokenizer such as <c>WhitespaceSplit</c>) gives a <see langword="null"/> <see cref="Tokenizer"/> with the reason in
    /// <see cref="Problem"/>, and still the special tokens the files declare.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <returns>What the folder says.</returns>
    /// <exception cref="ModelLoadException">A file is malformed (not JSON, ids that are not integers, a vocabulary with gaps); the message names it.</exception>
    public static HuggingFaceTokenizer Read(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        directory = Path.GetFullPath(directory);
        var path = Path.Combine(directory, "tokenizer.json");
        var configPath = Path.Combine(directory, "tokenizer_config.json");
        var config = File.Exists(configPath) ? Parse(configPath) : [];
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return new(directory, null, HuggingFaceTokenizerKind.None, $"{path}: no such file.", ids, special, added, config);
        }

        var root = Parse(path);
        try
        {
            foreach (var token in (root["added_tokens"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (token["content"]?.GetValue<string>() is { Length: > 0 } content && token["id"]?.GetValue<int>() is int id)
                {
                    added[content] = id;
                    ids[content] = id;
                    if (token["special"]?.GetValue<bool>() == true)
                    {
                        special[content] = id;
                    }
                }
            }

            var model = root["model"] as JsonObject;
            var type = model?["type"]?.GetValue<string>();
            if (model is null || type != "BPE")
            {
                return new(directory, null, HuggingFaceTokenizerKind.None, $"{path}: model type '{type ?? "none"}' is not supported (BPE is).", ids, special, added, config);
            }

            var vocab = (model["vocab"] as JsonObject ?? throw new ModelLoadException(path, "missing 'model.vocab'.", null))
                .Select(e => new KeyValuePair<string, int>(e.Key, e.Value!.GetValue<int>())).ToList();
            foreach (var (token, id) in vocab)
            {
                ids.TryAdd(token, id);
            }

            var merges = (model["merges"] as JsonArray ?? []).Select(MergeText).ToList();
            var (tokenizer, kind, problem) = Build(path, root, model, vocab, merges, added, special, config, ids);
            return new(directory, tokenizer, kind, problem is null ? null : $"{path}: {problem}", ids, special, added, config);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or IOException)
        {
            throw new ModelLoadException(path, $"the tokenizer could not be built: {ex.Message}", ex);
        }
    }

    private static (Tokenizer? Tokenizer, HuggingFaceTokenizerKind Kind, string? Problem) Build(string path, JsonObject root, JsonObject model, List<KeyValuePair<string, int>> vocab, List<string> merges, Dictionary<string, int> added, Dictionary<string, int> special, JsonObject config, Dictionary<string, int> ids)
    {
        if (IsByteLevel(root["pre_tokenizer"]) || IsByteLevel(root["decoder"]))
        {
            return ByteLevel(root, model, vocab, merges, added);
        }

        if (IsSentencePiece(root, model, vocab))
        {
            return (SentencePiece(path, root, model, vocab, merges, special, config, ids), HuggingFaceTokenizerKind.SentencePieceBpe, null);
        }

        // Some exports declare byte-level only in the post-processor.
        return IsByteLevel(root["post_processor"])
            ? ByteLevel(root, model, vocab, merges, added)
            : (null, HuggingFaceTokenizerKind.None, "a BPE tokenizer that is neither byte-level (GPT-2) nor SentencePiece-style (Llama) is not supported.");
    }

    /// <summary>
    /// Byte-level BPE as Hugging Face runs it: added tokens cut out first (CodeGen's whitespace runs included, which a
    /// pure GPT-2 vocabulary does not have), then the declared normalizer and split steps, then BPE on each piece's bytes.
    /// </summary>
    private static (Tokenizer?, HuggingFaceTokenizerKind, string?) ByteLevel(JsonObject root, JsonObject model, List<KeyValuePair<string, int>> vocab, List<string> merges, Dictionary<string, int> added)
    {
        var steps = new List<SplitPreTokenizer.Step>();
        var prefixSpace = false;
        var problem = root["pre_tokenizer"] is JsonObject pre ? CollectSteps(pre, steps, ref prefixSpace) : null;
        NormalizationForm? form = null;
        var lowercase = false;
        problem ??= root["normalizer"] is JsonObject normalizer ? CollectNormalizer(normalizer, ref form, ref lowercase) : null;
        if (problem is not null)
        {
            return (null, HuggingFaceTokenizerKind.None, $"{problem} is not supported for byte-level BPE.");
        }

        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new SplitPreTokenizer(added.Keys, steps),
            Normalizer = form is not null || lowercase || prefixSpace ? new JsonNormalizer(form, lowercase, prefixSpace) : null,
            SpecialTokens = (model["ignore_merges"]?.GetValue<bool>() ?? false) ? WholeWords(vocab, added) : added.Count > 0 ? added : null,
        };
        if (model["continuing_subword_prefix"]?.GetValue<string>() is { Length: > 0 } prefix)
        {
            options.ContinuingSubwordPrefix = prefix;
        }

        if (model["end_of_word_suffix"]?.GetValue<string>() is { Length: > 0 } suffix)
        {
            options.EndOfWordSuffix = suffix;
        }

        return (BpeTokenizer.Create(options), HuggingFaceTokenizerKind.ByteLevelBpe, null);
    }

    private static LlamaTokenizer SentencePiece(string path, JsonObject root, JsonObject model, List<KeyValuePair<string, int>> vocab, List<string> merges, Dictionary<string, int> special, JsonObject config, Dictionary<string, int> ids)
    {
        var pieces = new string?[vocab.Count];
        foreach (var (piece, id) in vocab)
        {
            if ((uint)id >= (uint)pieces.Length || pieces[id] is not null)
            {
                throw new ModelLoadException(path, $"token '{piece}' has id {id}; a SentencePiece vocabulary needs the ids 0..{vocab.Count - 1} once each.", null);
            }

            pieces[id] = piece;
        }

        int IdOf(string? token) => token is not null && ids.TryGetValue(token, out var id) && id < pieces.Length ? id : -1;
        var unk = IdOf(model["unk_token"]?.GetValue<string>() ?? "<unk>");
        var bos = IdOf(TokenText(config["bos_token"]) ?? "<s>");
        var eos = IdOf(TokenText(config["eos_token"]) ?? "</s>");
        var pad = IdOf(TokenText(config["pad_token"]));
        var control = special.Values.Where(id => id < pieces.Length).ToHashSet();
        var prepend = FindByType(root["normalizer"], "Prepend") is not null
            || (FindByType(root["pre_tokenizer"], "Metaspace") is JsonObject m && m["prepend_scheme"]?.GetValue<string>() != "never" && m["add_prefix_space"]?.GetValue<bool>() != false);
        var proto = SentencePieceModelWriter.Write(
            pieces!,
            merges,
            control,
            new SentencePieceModelWriter.SpecialPieces(unk, bos, eos, pad != unk ? pad : -1),
            model["byte_fallback"]?.GetValue<bool>() == true,
            prepend);
        var addBos = config["add_bos_token"] is JsonValue b && b.TryGetValue<bool>(out var flag) ? flag : true;
        using var stream = new MemoryStream(proto);
        return LlamaTokenizer.Create(stream, addBeginOfSentence: addBos && bos >= 0, addEndOfSentence: false);
    }

    /// <summary>
    /// BPE's <c>ignore_merges</c> (Llama 3 sets it): a pre-tokenized word that is itself a vocabulary entry gets that id
    /// without merging. <see cref="BpeTokenizer"/> looks every piece up in its special tokens before BPE, so the
    /// vocabulary's entries, as the text they stand for, go there (those whose bytes are not whole UTF-8 characters can
    /// never be a piece and are left out), with the added tokens over them.
    /// </summary>
    private static Dictionary<string, int> WholeWords(List<KeyValuePair<string, int>> vocab, Dictionary<string, int> added)
    {
        var toByte = new Dictionary<char, byte>();
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            // GPT-2's byte-to-character table: printable Latin-1 bytes stand for themselves, the rest for U+0100 onwards.
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            toByte[printable ? (char)b : (char)next++] = (byte)b;
        }

        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var words = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        var bytes = new List<byte>();
        foreach (var (piece, id) in vocab)
        {
            bytes.Clear();
            foreach (var c in piece)
            {
                if (!toByte.TryGetValue(c, out var b))
                {
                    break;
                }

                bytes.Add(b);
            }

            if (bytes.Count != piece.Length)
            {
                continue;
            }

            try
            {
                words.TryAdd(strict.GetString([.. bytes]), id);
            }
            catch (DecoderFallbackException)
            {
                // Part of a multi-byte character: never a whole piece of text.
            }
        }

        foreach (var (token, id) in added)
        {
            words[token] = id;
        }

        return words;
    }

    /// <summary>Reads a pre-tokenizer (or a <c>Sequence</c> of them) into split steps; returns what cannot be honoured.</summary>
    private static string? CollectSteps(JsonObject node, List<SplitPreTokenizer.Step> steps, ref bool prefixSpace)
    {
        switch (node["type"]?.GetValue<string>())
        {
            case "Sequence":
                foreach (var child in node["pretokenizers"] as JsonArray ?? [])
                {
                    if (child is JsonObject o && CollectSteps(o, steps, ref prefixSpace) is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            case "ByteLevel":
                prefixSpace |= node["add_prefix_space"]?.GetValue<bool>() ?? false;
                if (node["use_regex"]?.GetValue<bool>() ?? true)
                {
                    steps.Add(SplitPreTokenizer.CreateStep(SplitPreTokenizer.Gpt2Pattern, isRegex: true, SplitPreTokenizer.Behavior.Isolated, invert: false));
                }

                return null;
            case "Split":
                var pattern = node["pattern"] as JsonObject;
                var (text, isRegex) = pattern?["Regex"]?.GetValue<string>() is { } regex ? (regex, true) : (pattern?["String"]?.GetValue<string>(), false);
                var behavior = node["behavior"]?.GetValue<string>();
                if (text is null || !Enum.TryParse<SplitPreTokenizer.Behavior>(behavior, out var parsed))
                {
                    return $"pre-tokenizer Split with pattern {pattern?.ToJsonString() ?? "none"} and behavior '{behavior}'";
                }

                try
                {
                    steps.Add(SplitPreTokenizer.CreateStep(text, isRegex, parsed, node["invert"]?.GetValue<bool>() ?? false));
                }
                catch (ArgumentException ex)
                {
                    return $"pre-tokenizer Split pattern '{text}' ({ex.Message})";
                }

                return null;
            case "Digits":
                var individual = node["individual_digits"]?.GetValue<bool>() ?? false;
                steps.Add(SplitPreTokenizer.CreateStep(individual ? @"\p{N}" : @"\p{N}+", isRegex: true, SplitPreTokenizer.Behavior.Isolated, invert: false));
                return null;
            case "Punctuation":
                // Hugging Face's punctuation: Unicode P* categories plus every ASCII punctuation character, one per piece.
                var punctuationBehavior = node["behavior"]?.GetValue<string>() ?? nameof(SplitPreTokenizer.Behavior.Isolated);
                if (!Enum.TryParse<SplitPreTokenizer.Behavior>(punctuationBehavior, out var split))
                {
                    return $"pre-tokenizer Punctuation with behavior '{punctuationBehavior}'";
                }

                steps.Add(SplitPreTokenizer.CreateStep(@"[\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E]", isRegex: true, split, invert: false));
                return null;
            case var other:
                return $"pre-tokenizer '{other ?? "none"}'";
        }
    }

    /// <summary>Reads a normalizer (or a <c>Sequence</c>); returns what cannot be honoured.</summary>
    private static string? CollectNormalizer(JsonObject node, ref NormalizationForm? form, ref bool lowercase)
    {
        switch (node["type"]?.GetValue<string>())
        {
            case "Sequence":
                foreach (var child in node["normalizers"] as JsonArray ?? [])
                {
                    if (child is JsonObject o && CollectNormalizer(o, ref form, ref lowercase) is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            case "NFC":
                form = NormalizationForm.FormC;
                return null;
            case "NFD":
                form = NormalizationForm.FormD;
                return null;
            case "NFKC":
                form = NormalizationForm.FormKC;
                return null;
            case "NFKD":
                form = NormalizationForm.FormKD;
                return null;
            case "Lowercase":
                lowercase = true;
                return null;
            case var other:
                return $"normalizer '{other ?? "none"}'";
        }
    }

    private static JsonObject Parse(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new ModelLoadException(path, "expected a JSON object.", null);
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(path, $"invalid JSON at line {ex.LineNumber + 1}: {ex.Message}", ex);
        }
    }

    /// <summary>A token setting of <c>tokenizer_config.json</c> is a string or an object with <c>content</c>.</summary>
    private static string? TokenText(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };

    private static string MergeText(JsonNode? merge) => merge switch
    {
        JsonArray pair when pair.Count == 2 => $"{pair[0]!.GetValue<string>()} {pair[1]!.GetValue<string>()}",
        JsonValue v => v.GetValue<string>(),
        _ => throw new FormatException($"merge '{merge?.ToJsonString()}' is neither \"a b\" nor [\"a\", \"b\"]."),
    };

    private static JsonObject? FindByType(JsonNode? node, string type)
    {
        if (node is not JsonObject o)
        {
            return null;
        }

        if (o["type"]?.GetValue<string>() == type)
        {
            return o;
        }

        foreach (var key in new[] { "pretokenizers", "decoders", "normalizers" })
        {
            foreach (var child in o[key] as JsonArray ?? [])
            {
                if (FindByType(child, type) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }

    private static bool IsByteLevel(JsonNode? node) => FindByType(node, "ByteLevel") is not null;

    private static bool IsSentencePiece(JsonObject root, JsonObject model, List<KeyValuePair<string, int>> vocab)
    {
        if (FindByType(root["pre_tokenizer"], "Metaspace") is not null || FindByType(root["decoder"], "Metaspace") is not null)
        {
            return true;
        }

        // Newer Llama exports: normalizer Prepend("▁") + Replace(" ", "▁"), decoder Replace("▁", " "); failing those,
        // byte fallback or a vocabulary of ▁-words marks SentencePiece's conventions.
        return FindByType(root["normalizer"], "Replace")?["content"]?.GetValue<string>() == Metaspace.ToString()
            || model["byte_fallback"]?.GetValue<bool>() == true
            || vocab.Any(e => e.Key.Length > 1 && e.Key[0] == Metaspace);
    }
}
