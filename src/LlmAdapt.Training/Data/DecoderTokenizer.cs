using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using LlmAdapt.Formats;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Training.Data;

/// <summary>
/// The tokenizer of a decoder being trained. Models the engine creates use GPT-2's (Microsoft.ML.Tokenizers' built-in
/// data) and their checkpoints carry GPT-2's tokenizer files; a checkpoint a user brings is read with its own
/// <c>tokenizer.json</c>: byte-level BPE (GPT-2, SmolLM2, Qwen, Llama 3; its split rule honoured) through
/// <see cref="BpeTokenizer"/>, SentencePiece-style
/// BPE with byte fallback (Llama 2, Mistral) through <see cref="LlamaTokenizer"/>. Its files are copied into every
/// checkpoint trained from it.
/// </summary>
internal sealed partial class DecoderTokenizer
{
    private static readonly Lazy<DecoderTokenizer> s_gpt2 = new(() => new DecoderTokenizer(TiktokenTokenizer.CreateForModel("gpt2"), Gpt2TokenizerFiles.EndOfText, null, null, "gpt2"));

    private DecoderTokenizer(Tokenizer inner, int endOfText, int? beginningOfText, string? sourceDirectory, string kind)
    {
        Inner = inner;
        EndOfText = endOfText;
        BeginningOfText = beginningOfText;
        SourceDirectory = sourceDirectory;
        Kind = kind;
    }

    /// <summary>Gets GPT-2's tokenizer, for models created from scratch.</summary>
    public static DecoderTokenizer Gpt2 => s_gpt2.Value;

    public Tokenizer Inner { get; }

    /// <summary>Gets the id that ends a document or an answer (<c>eos_token_id</c>).</summary>
    public int EndOfText { get; }

    /// <summary>Gets the id put before each document or example when the tokenizer asks for it (<c>add_bos_token</c>), else null.</summary>
    public int? BeginningOfText { get; }

    /// <summary>Gets the folder whose tokenizer files this came from, or null for the built-in GPT-2 data.</summary>
    public string? SourceDirectory { get; }

    /// <summary>Gets what kind of tokenizer this is: gpt2 (built-in), byte-level-bpe or sentencepiece-bpe.</summary>
    public string Kind { get; }

    public int[] Encode(string text) => [.. Inner.EncodeToIds(text)];

    public string Decode(IEnumerable<int> ids) => Inner.Decode(ids) ?? string.Empty;

    /// <summary>Loads a checkpoint folder's tokenizer: its tokenizer.json, or GPT-2's when a GPT-2-vocabulary folder has none.</summary>
    /// <exception cref="ModelLoadException">The folder has no usable tokenizer.</exception>
    public static async Task<DecoderTokenizer> LoadAsync(string directory, HuggingFaceModelConfig config, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(directory);
        var path = Path.Combine(full, "tokenizer.json");
        if (!File.Exists(path))
        {
            return config.VocabSize == Gpt2TokenizerFiles.VocabularySize
                ? Gpt2
                : throw new ModelLoadException(path, $"the checkpoint has no tokenizer.json and its vocabulary ({config.VocabSize}) is not GPT-2's ({Gpt2TokenizerFiles.VocabularySize}).", null);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(path, $"not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var settings = await ReadTokenizerConfigAsync(full, cancellationToken).ConfigureAwait(false);
            return Parse(document.RootElement, path, config, settings);
        }
    }

    /// <summary>Writes this tokenizer's files into a checkpoint folder: copies of the source's, or GPT-2's.</summary>
    public async Task SaveAsync(string directory, int contextLength, CancellationToken cancellationToken)
    {
        if (SourceDirectory is null)
        {
            await Gpt2TokenizerFiles.WriteAsync(directory, contextLength, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (Path.GetFullPath(SourceDirectory) == Path.GetFullPath(directory))
        {
            return;
        }

        foreach (var name in CopiedFiles)
        {
            var source = Path.Combine(SourceDirectory, name);
            if (File.Exists(source))
            {
                await AtomicFile.WriteAllBytesAsync(Path.Combine(directory, name), await File.ReadAllBytesAsync(source, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static readonly string[] CopiedFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "tokenizer.model"];

    private static DecoderTokenizer Parse(JsonElement root, string path, HuggingFaceModelConfig config, JsonElement? settings)
    {
        if (!root.TryGetProperty("model", out var model) || !model.TryGetProperty("type", out var type) || type.GetString() != "BPE"
            || !model.TryGetProperty("vocab", out var vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException(path, "the tokenizer model is not BPE with a vocab object; the engine reads byte-level BPE (GPT-2 style) and SentencePiece-style BPE (Llama style).", null);
        }

        var vocab = vocabElement.EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.TryGetProperty("merges", out var m) && m.ValueKind == JsonValueKind.Array
            ? m.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Array ? string.Join(' ', x.EnumerateArray().Select(p => p.GetString())) : x.GetString() ?? string.Empty).ToList()
            : [];
        var added = root.TryGetProperty("added_tokens", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(t => (Id: t.GetProperty("id").GetInt32(), Content: t.GetProperty("content").GetString() ?? string.Empty, Special: t.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True)).ToList()
            : [];
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in vocab.Concat(added.Select(t => new KeyValuePair<string, int>(t.Content, t.Id))))
        {
            ids[token] = id;
        }

        int? Lookup(string? token) => token is not null && ids.TryGetValue(token, out var id) ? id : null;

        var eosToken = SettingToken(settings, "eos_token");
        var endOfText = config.EosTokenId ?? Lookup(eosToken) ?? Lookup(Gpt2TokenizerFiles.EndOfTextToken) ?? Lookup("</s>")
            ?? throw new ModelLoadException(path, "no end-of-text token: config.json has no eos_token_id and tokenizer_config.json no eos_token found in the vocabulary.", null);
        var addBos = settings is { } st && st.TryGetProperty("add_bos_token", out var ab) && ab.ValueKind == JsonValueKind.True;
        var bos = addBos ? config.BosTokenId ?? Lookup(SettingToken(settings, "bos_token")) : null;
        var special = added.Where(t => t.Special).ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        var directory = Path.GetDirectoryName(path)!;

        var text = root.GetRawText();
        if (text.Contains("\"ByteLevel\"", StringComparison.Ordinal))
        {
            var options = new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                SpecialTokens = special,
                PreTokenizer = new RegexPreTokenizer(SplitRule(root, path), special),
            };
            return new DecoderTokenizer(BpeTokenizer.Create(options), endOfText, bos, directory, "byte-level-bpe");
        }

        var byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        if (byteFallback || text.Contains('\u2581', StringComparison.Ordinal))
        {
            var proto = SentencePieceModel(vocab, merges, added, byteFallback, text.Contains("\"Prepend\"", StringComparison.Ordinal) || text.Contains("\"Metaspace\"", StringComparison.Ordinal), Lookup("<unk>") ?? 0, bos ?? Lookup("<s>") ?? 1, endOfText, path);
            using var stream = new MemoryStream(proto);
            var tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
            return new DecoderTokenizer(tokenizer, endOfText, bos, directory, "sentencepiece-bpe");
        }

        throw new ModelLoadException(path, "the tokenizer is BPE but neither byte-level (a ByteLevel pre-tokenizer) nor SentencePiece-style (byte_fallback, ▁ for spaces); the engine reads those two.", null);
    }

    /// <summary>
    /// The pre-tokenizer split of a byte-level tokenizer: a <c>Split</c> rule's own regex (Llama 3, Qwen), GPT-2's with
    /// digits split one by one under a <c>Digits</c> rule with <c>individual_digits</c> (SmolLM2), else GPT-2's.
    /// </summary>
    private static Regex SplitRule(JsonElement root, string path)
    {
        var rules = new List<JsonElement>();
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
        {
            rules.Add(pre);
            if (pre.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                rules.AddRange(list.EnumerateArray());
            }
        }

        string Type(JsonElement e) => e.TryGetProperty("type", out var t) ? t.GetString() ?? string.Empty : string.Empty;
        var split = rules.FirstOrDefault(r => Type(r) == "Split" && r.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out _));
        if (split.ValueKind == JsonValueKind.Object)
        {
            var pattern = split.GetProperty("pattern").GetProperty("Regex").GetString() ?? string.Empty;
            try
            {
                return new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(10));
            }
            catch (ArgumentException ex)
            {
                throw new ModelLoadException(path, $"the pre-tokenizer's Split regex does not compile in .NET: {ex.Message}", ex);
            }
        }

        var digits = rules.Any(r => Type(r) == "Digits" && r.TryGetProperty("individual_digits", out var d) && d.ValueKind == JsonValueKind.True);
        return digits ? Gpt2SplitWithSingleDigits() : Gpt2Split();
    }

    /// <summary>
    /// Writes the SentencePiece ModelProto that <see cref="LlamaTokenizer.Create"/> reads (pieces with scores and types,
    /// a BPE trainer spec with the special ids, the whitespace rules), from a SentencePiece-style tokenizer.json. A
    /// piece's score ranks the merge that makes it, so merges apply in tokenizer.json's order.
    /// </summary>
    private static byte[] SentencePieceModel(List<KeyValuePair<string, int>> vocab, List<string> merges, List<(int Id, string Content, bool Special)> added, bool byteFallback, bool dummyPrefix, int unk, int bos, int eos, string path)
    {
        var byId = new string?[vocab.Count];
        foreach (var (token, id) in vocab)
        {
            if ((uint)id >= (uint)byId.Length || byId[id] is not null)
            {
                throw new ModelLoadException(path, $"token '{token}' has id {id}; a SentencePiece vocabulary needs the ids 0..{vocab.Count - 1} once each.", null);
            }

            byId[id] = token;
        }

        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < merges.Count; i++)
        {
            rank.TryAdd(merges[i].Replace(" ", string.Empty, StringComparison.Ordinal), i);
        }

        var specialIds = added.Where(t => t.Special).Select(t => t.Id).ToHashSet();
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        for (var id = 0; id < byId.Length; id++)
        {
            var piece = byId[id]!;
            var kind = id == unk ? 2 : specialIds.Contains(id) ? 3 : byteFallback && ByteToken().IsMatch(piece) ? 6 : 1;
            var score = rank.TryGetValue(piece, out var r) ? -(float)r : -(float)(merges.Count + id);
            var entry = new MemoryStream();
            var e = new CodedOutputStream(entry);
            e.WriteTag(1, WireFormat.WireType.LengthDelimited);
            e.WriteString(piece);
            e.WriteTag(2, WireFormat.WireType.Fixed32);
            e.WriteFloat(score);
            e.WriteTag(3, WireFormat.WireType.Varint);
            e.WriteEnum(kind);
            e.Flush();
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(entry.ToArray()));
        }

        var trainer = new MemoryStream();
        var t = new CodedOutputStream(trainer);
        t.WriteTag(3, WireFormat.WireType.Varint);
        t.WriteEnum(2); // BPE
        t.WriteTag(35, WireFormat.WireType.Varint);
        t.WriteBool(byteFallback);
        foreach (var (field, value) in new[] { (40, unk), (41, bos), (42, eos), (43, -1) })
        {
            t.WriteTag(field, WireFormat.WireType.Varint);
            t.WriteInt32(value);
        }

        foreach (var (field, value) in new[] { (45, byId[unk]!), (46, byId[bos]!), (47, byId[eos]!) })
        {
            t.WriteTag(field, WireFormat.WireType.LengthDelimited);
            t.WriteString(value);
        }

        t.Flush();
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(trainer.ToArray()));

        var normalizer = new MemoryStream();
        var n = new CodedOutputStream(normalizer);
        n.WriteTag(1, WireFormat.WireType.LengthDelimited);
        n.WriteString("identity");
        foreach (var (field, value) in new[] { (3, dummyPrefix), (4, false), (5, true) })
        {
            n.WriteTag(field, WireFormat.WireType.Varint);
            n.WriteBool(value);
        }

        n.Flush();
        output.WriteTag(3, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(normalizer.ToArray()));
        output.Flush();
        return buffer.ToArray();
    }

    private static async Task<JsonElement?> ReadTokenizerConfigAsync(string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, "tokenizer_config.json");
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(path, $"not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>A token setting is a string or an object with "content".</summary>
    private static string? SettingToken(JsonElement? settings, string name) =>
        settings is { } s && s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out var v)
            ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString() : null
            : null;

    /// <summary>GPT-2's pre-tokenizer split: contractions, letters, digits, other symbols, each with one leading space.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.None, matchTimeoutMilliseconds: 10_000)]
    private static partial Regex Gpt2Split();

    [GeneratedRegex(@"\p{N}|'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.None, matchTimeoutMilliseconds: 10_000)]
    private static partial Regex Gpt2SplitWithSingleDigits();

    [GeneratedRegex("^<0x[0-9A-F]{2}>$", RegexOptions.None, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex ByteToken();
}
