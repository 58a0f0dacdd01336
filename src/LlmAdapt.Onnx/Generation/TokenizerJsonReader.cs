using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// Builds a Microsoft.ML.Tokenizers tokenizer from a Hugging Face <c>tokenizer.json</c>, which that library (2.0.1)
/// cannot read itself: byte-level BPE (GPT-2, CodeGen, Qwen 2.5, Llama 3) goes to <see cref="BpeTokenizer"/> in byte-level
/// mode, with the file's own pre-tokenizer (its <c>Split</c> patterns, or GPT-2's for <c>ByteLevel</c>), normalizer and
/// added tokens; SentencePiece-style BPE with byte fallback (Llama, Mistral, TinyLlama) goes to
/// <see cref="LlamaTokenizer"/> through a SentencePiece model written from the same vocabulary and merges.
/// </summary>
internal static class TokenizerJsonReader
{
    private const char Metaspace = '\u2581';

    /// <summary>The tokenizer and what the folder says about special tokens.</summary>
    /// <param name="Tokenizer">The tokenizer, or <see langword="null"/> when the file is not one Microsoft.ML.Tokenizers can run.</param>
    /// <param name="Problem">Why <paramref name="Tokenizer"/> is <see langword="null"/>.</param>
    /// <param name="SpecialTokens">The added tokens marked special (left out when decoding).</param>
    /// <param name="AddedTokens">All added tokens, special or not (CodeGen's whitespace runs are not): text is cut at them before BPE.</param>
    /// <param name="EosToken">The end-of-sequence token's text from <c>tokenizer_config.json</c>.</param>
    /// <param name="BosToken">The beginning-of-sequence token's text.</param>
    /// <param name="PadToken">The padding token's text.</param>
    internal sealed record Loaded(Tokenizer? Tokenizer, string? Problem, IReadOnlyDictionary<string, int> SpecialTokens, IReadOnlyDictionary<string, int> AddedTokens, string? EosToken, string? BosToken, string? PadToken);

    public static Loaded Read(string directory)
    {
        var path = Path.Combine(directory, "tokenizer.json");
        var configPath = Path.Combine(directory, "tokenizer_config.json");
        var config = File.Exists(configPath) ? Parse(configPath) : [];
        var eos = TokenText(config["eos_token"]);
        var bos = TokenText(config["bos_token"]);
        var pad = TokenText(config["pad_token"]);
        if (!File.Exists(path))
        {
            return new Loaded(null, $"{path}: no such file; generation works on token ids only.", new Dictionary<string, int>(), new Dictionary<string, int>(), eos, bos, pad);
        }

        var root = Parse(path);
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        var addedTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var added in (root["added_tokens"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (added["content"]?.GetValue<string>() is { Length: > 0 } content && added["id"]?.GetValue<int>() is int id)
            {
                addedTokens[content] = id;
                if (added["special"]?.GetValue<bool>() == true)
                {
                    special[content] = id;
                }
            }
        }

        var model = root["model"] as JsonObject;
        var type = model?["type"]?.GetValue<string>();
        if (model is null || type != "BPE")
        {
            return new Loaded(null, $"{path}: model type '{type ?? "none"}' is not supported (BPE is); generation works on token ids only.", special, addedTokens, eos, bos, pad);
        }

        var vocab = model["vocab"] as JsonObject ?? throw new ModelLoadException(path, "missing 'model.vocab'.", null);
        var merges = (model["merges"] as JsonArray ?? []).Select(MergeText).ToList();
        try
        {
            if (IsByteLevel(root["pre_tokenizer"]) || IsByteLevel(root["decoder"]))
            {
                return ByteLevel(path, root, model, vocab, merges, special, addedTokens, eos, bos, pad);
            }

            if (IsMetaspace(root))
            {
                var addBos = config["add_bos_token"] is JsonValue b && b.TryGetValue<bool>(out var flag) ? flag : true;
                var proto = SentencePieceModelWriter.Write(vocab, merges, special, model, root, bos, eos, pad);
                using var protoStream = new MemoryStream(proto);
                return new Loaded(LlamaTokenizer.Create(protoStream, addBeginOfSentence: addBos, addEndOfSentence: false), null, special, addedTokens, eos, bos, pad);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or IOException)
        {
            throw new ModelLoadException(path, $"Microsoft.ML.Tokenizers could not build the tokenizer: {ex.Message}", ex);
        }

        return new Loaded(null, $"{path}: a BPE tokenizer that is neither byte-level (GPT-2) nor SentencePiece-style (Llama) is not supported; generation works on token ids only.", special, addedTokens, eos, bos, pad);
    }

    /// <summary>
    /// Byte-level BPE as Hugging Face runs it: added tokens cut out first (CodeGen's whitespace runs included, which a
    /// pure GPT-2 vocabulary does not have), then the declared normalizer and split steps, then BPE on each piece's bytes.
    /// </summary>
    private static Loaded ByteLevel(string path, JsonObject root, JsonObject model, JsonObject vocab, List<string> merges, Dictionary<string, int> special, Dictionary<string, int> addedTokens, string? eos, string? bos, string? pad)
    {
        var steps = new List<SplitPreTokenizer.Step>();
        var prefixSpace = false;
        var problem = root["pre_tokenizer"] is JsonObject pre ? CollectSteps(pre, steps, ref prefixSpace) : null;
        NormalizationForm? form = null;
        var lowercase = false;
        problem ??= root["normalizer"] is JsonObject normalizer ? CollectNormalizer(normalizer, ref form, ref lowercase) : null;
        if (problem is not null)
        {
            return new Loaded(null, $"{path}: {problem} is not supported for byte-level BPE; generation works on token ids only.", special, addedTokens, eos, bos, pad);
        }

        var options = new BpeOptions(vocab.Select(e => new KeyValuePair<string, int>(e.Key, e.Value!.GetValue<int>())))
        {
            Merges = merges,
            ByteLevel = true,
            PreTokenizer = new SplitPreTokenizer(addedTokens.Keys, steps),
            Normalizer = form is not null || lowercase || prefixSpace ? new JsonNormalizer(form, lowercase, prefixSpace) : null,
            SpecialTokens = (model["ignore_merges"]?.GetValue<bool>() ?? false) ? WholeWords(vocab, addedTokens) : addedTokens.Count > 0 ? addedTokens : null,
        };
        if (model["continuing_subword_prefix"]?.GetValue<string>() is { Length: > 0 } prefix)
        {
            options.ContinuingSubwordPrefix = prefix;
        }

        if (model["end_of_word_suffix"]?.GetValue<string>() is { Length: > 0 } suffix)
        {
            options.EndOfWordSuffix = suffix;
        }

        return new Loaded(BpeTokenizer.Create(options), null, special, addedTokens, eos, bos, pad);
    }

    /// <summary>
    /// BPE's <c>ignore_merges</c> (Llama 3 sets it): a pre-tokenized word that is itself a vocabulary entry gets that id
    /// without merging. <see cref="BpeTokenizer"/> looks every piece up in its special tokens before BPE, so the
    /// vocabulary's entries, as the text they stand for, go there (those whose bytes are not whole UTF-8 characters can
    /// never be a piece and are left out), with the added tokens over them.
    /// </summary>
    private static Dictionary<string, int> WholeWords(JsonObject vocab, Dictionary<string, int> addedTokens)
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
                words.TryAdd(strict.GetString([.. bytes]), id!.GetValue<int>());
            }
            catch (DecoderFallbackException)
            {
                // Part of a multi-byte character: never a whole piece of text.
            }
        }

        foreach (var (token, id) in addedTokens)
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

    private static bool IsMetaspace(JsonObject root)
    {
        if (FindByType(root["pre_tokenizer"], "Metaspace") is not null || FindByType(root["decoder"], "Metaspace") is not null)
        {
            return true;
        }

        // Newer Llama exports: normalizer Prepend("▁") + Replace(" ", "▁"), decoder Replace("▁", " ").
        return FindByType(root["normalizer"], "Replace")?["content"]?.GetValue<string>() == Metaspace.ToString();
    }

    /// <summary>Writes the subset of SentencePiece's <c>ModelProto</c> that a BPE model needs.</summary>
    private static class SentencePieceModelWriter
    {
        private const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;

        public static byte[] Write(JsonObject vocab, List<string> merges, Dictionary<string, int> special, JsonObject model, JsonObject root, string? bos, string? eos, string? pad)
        {
            var pieces = new string?[vocab.Count];
            foreach (var (piece, idNode) in vocab)
            {
                var id = idNode!.GetValue<int>();
                if (id < 0 || id >= pieces.Length)
                {
                    throw new FormatException($"vocabulary id {id} of '{piece}' is outside 0..{pieces.Length - 1}.");
                }

                pieces[id] = piece;
            }

            // SentencePiece merges the adjacent pair whose result scores highest; Hugging Face merges by rank, so a
            // merged piece scores minus the rank of the merge that first makes it.
            var score = new Dictionary<string, float>(StringComparer.Ordinal);
            for (var rank = 0; rank < merges.Count; rank++)
            {
                var space = merges[rank].IndexOf(' ', StringComparison.Ordinal);
                var merged = string.Concat(merges[rank].AsSpan(0, space), merges[rank].AsSpan(space + 1));
                score.TryAdd(merged, -rank);
            }

            var unk = model["unk_token"]?.GetValue<string>();
            var output = new MemoryStream();
            for (var id = 0; id < pieces.Length; id++)
            {
                var piece = pieces[id] ?? throw new FormatException($"vocabulary id {id} is missing.");
                var type = piece == unk ? Unknown
                    : special.ContainsKey(piece) ? Control
                    : piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[^1] == '>' ? Byte
                    : Normal;
                var entry = new MemoryStream();
                WriteString(entry, 1, piece);
                WriteFloat(entry, 2, score.TryGetValue(piece, out var s) ? s : 0f);
                WriteVarintField(entry, 3, type);
                WriteBytes(output, 1, entry.ToArray());
            }

            int IdOf(string? token) => token is not null && vocab[token] is JsonNode n ? n.GetValue<int>() : -1;
            var trainer = new MemoryStream();
            WriteVarintField(trainer, 3, 2); // model_type = BPE
            WriteVarintField(trainer, 4, pieces.Length);
            WriteVarintField(trainer, 35, model["byte_fallback"]?.GetValue<bool>() == true ? 1 : 0);
            WriteVarintField(trainer, 40, IdOf(unk));
            WriteVarintField(trainer, 41, IdOf(bos));
            WriteVarintField(trainer, 42, IdOf(eos));
            WriteVarintField(trainer, 43, pad is not null && pad != unk ? IdOf(pad) : -1);
            WriteString(trainer, 45, unk ?? "<unk>");
            WriteString(trainer, 46, bos ?? "<s>");
            WriteString(trainer, 47, eos ?? "</s>");
            WriteBytes(output, 2, trainer.ToArray());

            var prepend = FindByType(root["normalizer"], "Prepend") is not null
                || FindByType(root["pre_tokenizer"], "Metaspace") is JsonObject m && m["prepend_scheme"]?.GetValue<string>() != "never" && m["add_prefix_space"]?.GetValue<bool>() != false;
            var normalizer = new MemoryStream();
            WriteString(normalizer, 1, "identity");
            WriteVarintField(normalizer, 3, prepend ? 1 : 0); // add_dummy_prefix
            WriteVarintField(normalizer, 4, 0); // remove_extra_whitespaces: Hugging Face keeps them
            WriteVarintField(normalizer, 5, 1); // escape_whitespaces
            WriteBytes(output, 3, normalizer.ToArray());
            return output.ToArray();
        }

        private static void WriteVarint(Stream s, ulong value)
        {
            while (value >= 0x80)
            {
                s.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            s.WriteByte((byte)value);
        }

        private static void WriteVarintField(Stream s, int field, int value)
        {
            WriteVarint(s, (ulong)(field << 3));
            WriteVarint(s, (ulong)(long)value); // negative int32 is sign-extended to ten bytes, as protobuf does
        }

        private static void WriteBytes(Stream s, int field, byte[] bytes)
        {
            WriteVarint(s, (ulong)((field << 3) | 2));
            WriteVarint(s, (ulong)bytes.Length);
            s.Write(bytes);
        }

        private static void WriteString(Stream s, int field, string value) => WriteBytes(s, field, Encoding.UTF8.GetBytes(value));

        private static void WriteFloat(Stream s, int field, float value)
        {
            WriteVarint(s, (ulong)((field << 3) | 5));
            Span<byte> bytes = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
            s.Write(bytes);
        }
    }
}
