using System.Text.Json.Nodes;
using LlmAdapt.Formats;
using LlmAdapt.Tokens;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Tests.Tokens;

/// <summary>
/// <see cref="HuggingFaceTokenizer"/> on the shared fixtures' tokenizer files: byte-level BPE against the ids Hugging Face's
/// GPT-2 tokenizer gives and Microsoft.ML.Tokenizers' built-in GPT-2, with the pre-tokenizer each file declares (GPT-2's,
/// Llama 3's, Qwen 2.5's, Punctuation, Digits, ignore_merges); SentencePiece-style BPE on the Llama fixture; files it cannot
/// run or read. (The comparison with ONNX Runtime GenAI's tokenizer on the same files is in LlmAdapt.Onnx.Tests.)
/// </summary>
public sealed class HuggingFaceTokenizerTests : IClassFixture<HuggingFaceTokenizerTests.Folders>
{
    private static readonly string s_llamaDirectory = Path.Combine(TestData.SharedRoot, "models", "onnxruntime-genai", "tiny-random-LlamaForCausalLM-fp16");

    private readonly Folders _folders;

    public HuggingFaceTokenizerTests(Folders folders) => _folders = folders;

    public static TheoryData<string, int[]> Gpt2Expected => new()
    {
        // Ids from Hugging Face's GPT2TokenizerFast (identical to tiktoken's "gpt2" encoding) on these strings.
        { "Hello world", [15496, 995] },
        { "a  b", [64, 220, 275] },
        { "tab\there\t\tx", [8658, 197, 1456, 197, 197, 87] },
        { "line\nnext\n\n\nend  ", [1370, 198, 19545, 628, 198, 437, 220, 220] },
        { "café naïve 日本語 🙂 emoji", [66, 1878, 2634, 41492, 10545, 245, 98, 17312, 105, 45739, 252, 32485, 44805] },
        { "x    y     z", [87, 220, 220, 220, 331, 220, 220, 220, 220, 1976] },
        { "It's 12345 dollars'S", [1026, 338, 17031, 2231, 5054, 6, 50] },
        { "end<|endoftext|>", [437, 50256] },
    };

    [Theory]
    [MemberData(nameof(Gpt2Expected))]
    public void PureGpt2_EncodesAsHuggingFace_AndDecodesBack(string text, int[] expected)
    {
        var tokenizer = _folders.Ours(_folders.PureGpt2);

        var ids = tokenizer.EncodeToIds(text);

        Assert.Equal(expected, ids);
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public async Task WrittenGpt2Files_TokenizeLikeTheBuiltInGpt2()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-gpt2-files-" + Guid.NewGuid().ToString("N"));
        try
        {
            await Gpt2TokenizerFiles.WriteAsync(dir, 128);
            var loaded = HuggingFaceTokenizer.Load(dir);

            Assert.Equal(HuggingFaceTokenizerKind.ByteLevelBpe, loaded.Kind);
            Assert.Equal((50256, 50256), (loaded.EndOfSequenceId, loaded.BeginningOfSequenceId));
            Assert.False(loaded.AddBeginningOfSequence);

            // Sample: the first 4,000 characters of tinyshakespeare, plus accents, digits, emoji and runs of spaces.
            var text = (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..4000] + " Café 2024 — naïve 🙂  x   y\n\n";
            Assert.Equal(TiktokenTokenizer.CreateForModel("gpt2").EncodeToIds(text), loaded.Tokenizer!.EncodeToIds(text));
            Assert.Equal(text, loaded.Tokenizer.Decode(loaded.Tokenizer.EncodeToIds(text)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(nameof(Folders.Llama3), new[] { 1026, 338, 220, 10163, 2231, 5054 })]
    [InlineData(nameof(Folders.Qwen25), new[] { 1026, 338, 220, 16, 17, 18, 19, 20, 5054 })]
    [InlineData(nameof(Folders.PureGpt2), new[] { 1026, 338, 17031, 2231, 5054 })]
    public void SplitPattern_FromTheFile_DecidesHowNumbersSplit(string folder, int[] expected)
    {
        // Same vocabulary and merges; only the declared pre-tokenizer differs: Llama 3 groups digits by three, Qwen 2.5
        // splits every digit, GPT-2 keeps " 12345" as one word.
        var path = (string)typeof(Folders).GetProperty(folder)!.GetValue(_folders)!;

        Assert.Equal(expected, _folders.Ours(path).EncodeToIds("It's 12345 dollars"));
    }

    [Fact]
    public void Qwen25_NormalizesToNfc()
    {
        var tokenizer = _folders.Ours(_folders.Qwen25);

        Assert.Equal(tokenizer.EncodeToIds("caf\u00e9"), tokenizer.EncodeToIds("cafe\u0301"));
        Assert.NotEqual(_folders.Ours(_folders.PureGpt2).EncodeToIds("caf\u00e9"), _folders.Ours(_folders.PureGpt2).EncodeToIds("cafe\u0301"));
    }

    [Theory]
    [InlineData("Isolated", "the|-|final|-|-|countdown")]
    [InlineData("Removed", "the|final|countdown")]
    [InlineData("MergedWithPrevious", "the-|final-|-|countdown")]
    [InlineData("MergedWithNext", "the|-final|-|-countdown")]
    [InlineData("Contiguous", "the|-|final|--|countdown")]
    public void SplitBehaviours_AsHuggingFaceDocumentsThem(string behavior, string expected)
    {
        const string text = "the-final--countdown";
        var step = SplitPreTokenizer.CreateStep("-", isRegex: false, Enum.Parse<SplitPreTokenizer.Behavior>(behavior), invert: false);
        var splitter = new SplitPreTokenizer([], [step]);

        var pieces = splitter.PreTokenize(text).Select(p => text.Substring(p.Offset, p.Length));

        Assert.Equal(expected, string.Join('|', pieces));
    }

    [Fact]
    public void PunctuationAndDigits_BeforeByteLevel_SplitAsDeclared()
    {
        // Falcon-style Punctuation and SmolLM2-style individual Digits: each punctuation character (ASCII "$" included) and
        // each digit is a piece of its own, so the space before "$" is left alone.
        var folder = _folders.Make("punctuation-digits", root => root["pre_tokenizer"] = JsonNode.Parse("""
            {"type":"Sequence","pretokenizers":[{"type":"Punctuation","behavior":"Isolated"},{"type":"Digits","individual_digits":true},{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}]}
            """));
        var tokenizer = HuggingFaceTokenizer.Load(folder).Tokenizer!;
        var gpt2 = _folders.Ours(_folders.PureGpt2);

        int[] expected = [.. new[] { "Hi", ",", " there", "!", " ", "$", "1", ",", "5" }.SelectMany(piece => gpt2.EncodeToIds(piece))];

        Assert.Equal(expected, tokenizer.EncodeToIds("Hi, there! $1,5"));
        Assert.Equal(["1", "9", "8", "4"], tokenizer.EncodeToIds("1984").Select(id => tokenizer.Decode([id])));
    }

    [Fact]
    public void IgnoreMerges_KeepsAWholeVocabularyWord_ThatMergesCannotReach()
    {
        // Without the merge that makes "Ġworld" (id 995), BPE splits " world" into " wor" + "ld"; with ignore_merges
        // (as Llama 3's tokenizer.json sets it) Hugging Face looks the whole word up first and keeps 995.
        static void DropWorldMerge(JsonObject root) => root["model"]!["merges"] = new JsonArray([.. root["model"]!["merges"]!.AsArray()
            .Where(m => m!.GetValue<string>().Replace(" ", string.Empty, StringComparison.Ordinal) != "\u0120world").Select(m => m!.DeepClone())]);
        var merging = HuggingFaceTokenizer.Load(_folders.Make("no-world-merge", DropWorldMerge)).Tokenizer!;
        var ignoring = HuggingFaceTokenizer.Load(_folders.Make("ignore-merges", root =>
        {
            DropWorldMerge(root);
            root["model"]!["ignore_merges"] = true;
        })).Tokenizer!;

        Assert.Equal([15496, 476, 335], merging.EncodeToIds("Hello world"));
        Assert.Equal([15496, 995], ignoring.EncodeToIds("Hello world"));
        Assert.Equal([15496, 11621, 50256, .. merging.EncodeToIds(" 🙂")], ignoring.EncodeToIds("Hello worlds<|endoftext|> 🙂"));
        Assert.Equal("Hello worlds<|endoftext|> 🙂", ignoring.Decode(ignoring.EncodeToIds("Hello worlds<|endoftext|> 🙂")));
    }

    [Fact]
    public void UnsupportedPreTokenizer_ReadGivesTheReason_LoadRefuses()
    {
        var folder = _folders.Make("whitespace-split", root => root["pre_tokenizer"] = JsonNode.Parse("""{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"ByteLevel","use_regex":false}]}"""));

        var read = HuggingFaceTokenizer.Read(folder);
        var ex = Assert.Throws<ModelLoadException>(() => HuggingFaceTokenizer.Load(folder));

        Assert.Null(read.Tokenizer);
        Assert.Equal(HuggingFaceTokenizerKind.None, read.Kind);
        Assert.Contains("WhitespaceSplit", read.Problem);
        Assert.Equal(50256, read.EndOfSequenceId);
        Assert.Equal(Path.Combine(folder, "tokenizer.json"), ex.FilePath);
        Assert.Contains("WhitespaceSplit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnigramModel_KeepsItsSpecialTokens_WithoutATokenizer()
    {
        var folder = _folders.Make("unigram", root => root["model"] = JsonNode.Parse("""{"type":"Unigram","vocab":[["<unk>",0]]}"""));

        var read = HuggingFaceTokenizer.Read(folder);

        Assert.Null(read.Tokenizer);
        Assert.Contains("'Unigram'", read.Problem);
        Assert.Equal(50256, read.SpecialTokens["<|endoftext|>"]);
        Assert.Equal(50256, read.EndOfSequenceId);
    }

    [Fact]
    public void MissingTokenizerJson_ReadSaysSo_LoadThrowsNamingIt()
    {
        var folder = Path.Combine(Path.GetTempPath(), "llmadapt-no-tokenizer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            Assert.Contains("no such file", HuggingFaceTokenizer.Read(folder).Problem);
            Assert.Equal(Path.Combine(folder, "tokenizer.json"), Assert.Throws<ModelLoadException>(() => HuggingFaceTokenizer.Load(folder)).FilePath);
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    [Fact]
    public void MalformedFiles_ThrowNamingTheFile()
    {
        var notJson = _folders.Make("not-json", _ => { });
        File.WriteAllText(Path.Combine(notJson, "tokenizer.json"), "{\n  \"model\": ");
        var badId = _folders.Make("bad-id", root => root["model"]!["vocab"]!["hello"] = "seven");
        var badConfig = _folders.Make("bad-config", _ => { });
        File.WriteAllText(Path.Combine(badConfig, "tokenizer_config.json"), "[1,");

        var json = Assert.Throws<ModelLoadException>(() => HuggingFaceTokenizer.Read(notJson));
        var id = Assert.Throws<ModelLoadException>(() => HuggingFaceTokenizer.Read(badId));
        var config = Assert.Throws<ModelLoadException>(() => HuggingFaceTokenizer.Read(badConfig));

        Assert.Equal(Path.Combine(notJson, "tokenizer.json"), json.FilePath);
        Assert.Contains("line 2", json.Message, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(badId, "tokenizer.json"), id.FilePath);
        Assert.Equal(Path.Combine(badConfig, "tokenizer_config.json"), config.FilePath);
    }

    [Fact]
    public void LlamaFixture_IsSentencePieceBpe_WithItsBeginningToken()
    {
        var loaded = HuggingFaceTokenizer.Load(s_llamaDirectory);
        var tokenizer = Assert.IsType<LlamaTokenizer>(loaded.Tokenizer);

        Assert.Equal(HuggingFaceTokenizerKind.SentencePieceBpe, loaded.Kind);
        Assert.Equal((2, 1, 0), (loaded.EndOfSequenceId, loaded.BeginningOfSequenceId, loaded.PaddingId));
        Assert.True(loaded.AddBeginningOfSequence);

        // Llama 2's tokenizer: "▁Hello" is 15043 and "▁world" 3186; a newline falls back to the byte token <0x0A> (13),
        // after which "world" (11526) has no leading ▁. add_bos_token puts <s> (1) first.
        Assert.Equal([1, 15043, 3186], tokenizer.EncodeToIds("Hello world"));
        Assert.Equal([15043, 13, 11526], tokenizer.EncodeToIds("Hello\nworld", addBeginningOfSentence: false, addEndOfSentence: false));
        var text = "Hello world\nline two: naïve café 🙂  double";
        Assert.Equal(text, tokenizer.Decode(tokenizer.EncodeToIds(text)));
    }

    [Fact]
    public void ByteFallbackAlone_MarksSentencePieceStyle()
    {
        // A Llama file whose normalizer only prepends ▁ and whose decoder is just ByteFallback: no Metaspace, no Replace.
        var loaded = HuggingFaceTokenizer.Load(_folders.MakeLlama("byte-fallback", root =>
        {
            root["normalizer"] = JsonNode.Parse("""{"type":"Prepend","prepend":"\u2581"}""");
            root["decoder"] = JsonNode.Parse("""{"type":"ByteFallback"}""");
        }));

        Assert.Equal(HuggingFaceTokenizerKind.SentencePieceBpe, loaded.Kind);
        Assert.Equal([1, 15043], loaded.Tokenizer!.EncodeToIds("Hello"));
    }

    [Fact]
    public void SentencePieceVocabularyWithAGap_IsRefusedNamingTheFile()
    {
        var folder = _folders.MakeLlama("sp-gap", root => root["model"]!["vocab"]!["\u2581Hello"] = 99999);

        var ex = Assert.Throws<ModelLoadException>(() => HuggingFaceTokenizer.Load(folder));

        Assert.Equal(Path.Combine(folder, "tokenizer.json"), ex.FilePath);
        Assert.Contains("99999", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Copies of the GPT-2 fixture's tokenizer files only.</summary>
    public sealed class Folders : TokenizerFolders
    {
        public Folders()
            : base(Path.Combine(TestData.SharedRoot, "models", "onnxruntime-genai", "tiny-random-gpt2-fp32"))
        {
        }

        /// <summary>A folder (removed with the others) holding the Llama fixture's tokenizer.json, edited.</summary>
        public string MakeLlama(string name, Action<JsonObject> edit)
        {
            var folder = Make(name, _ => { });
            File.Delete(Path.Combine(folder, "tokenizer_config.json"));
            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(s_llamaDirectory, "tokenizer.json")))!.AsObject();
            edit(root);
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), root.ToJsonString());
            return folder;
        }
    }
}
