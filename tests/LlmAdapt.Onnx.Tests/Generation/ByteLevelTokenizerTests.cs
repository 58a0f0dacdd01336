using System.Text.Json;
using System.Text.Json.Nodes;
using LlmAdapt.Onnx.Generation;
using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Onnx.Tests.Generation;

/// <summary>
/// Byte-level BPE from <c>tokenizer.json</c> against ONNX Runtime GenAI's tokenizer (a third-party peer) on the same files,
/// and against ids Hugging Face's GPT-2 tokenizer gives: whitespace runs, tabs, newlines, unicode and emoji, with the
/// pre-tokenizer each file declares (GPT-2's, Llama 3's, Qwen 2.5's).
/// </summary>
public sealed class ByteLevelTokenizerTests : IClassFixture<ByteLevelTokenizerTests.Folders>
{
    private const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen25Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly string[] s_texts =
    [
        "a  b",
        "tab\there\t\tx",
        "line\nnext\n\n\nend  ",
        "café naïve 日本語 🙂 emoji",
        "x    y     z!!\n\n",
        "   leading and trailing   ",
        "It's 12345 dollars, I'LL pay\r\n\t 2",
        "def f():\n    return  1<|endoftext|>  after",
    ];

    private readonly Folders _folders;

    public ByteLevelTokenizerTests(Folders folders) => _folders = folders;

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
        Assert.All(ids, id => Assert.InRange(id, 0, 50256));
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void EveryPreTokenizer_EncodesAsOrtGenAI_OnTheSameFiles()
    {
        foreach (var folder in new[] { _folders.PureGpt2, _folders.Llama3, _folders.Qwen25, GenerationModels.Gpt2Directory })
        {
            var ours = _folders.Ours(folder);
            using var model = new OrtGenAI.Model(folder);
            using var theirs = new OrtGenAI.Tokenizer(model);
            foreach (var text in s_texts)
            {
                using var sequences = theirs.Encode(text);
                var expected = sequences[0].ToArray();
                var ids = ours.EncodeToIds(text);
                Assert.True(expected.SequenceEqual(ids), $"{Path.GetFileName(folder)} on {JsonSerializer.Serialize(text)}: GenAI [{string.Join(',', expected)}], ours [{string.Join(',', ids)}]");
                Assert.Equal(text, ours.Decode(ids));
            }
        }
    }

    [Fact]
    public void CodeGenStyleFixture_CutsWhitespaceRunsIntoTheirAddedIds()
    {
        // The GenAI fixture's tokenizer.json is CodeGen's: GPT-2's vocabulary plus added tokens for runs of 2-31 spaces
        // and 2-9 tabs (ids 50257-50294), which Hugging Face cuts out before BPE; a pure GPT-2 file has none of them.
        var model = GenerationModels.Gpt2;

        Assert.Equal([64, 50286, 65], model.Encode("a  b"));
        Assert.Equal([87, 50284, 88, 50283, 89], model.Encode("x    y     z"));
        Assert.Equal([64, 50293, 275], model.Encode("a\t\t\t b"));
        Assert.Equal("x    y     z", model.Decode([87, 50284, 88, 50283, 89]));
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
        var tokenizer = TokenizerJsonReader.Read(folder).Tokenizer!;
        var gpt2 = _folders.Ours(_folders.PureGpt2);

        int[] expected = [.. new[] { "Hi", ",", " there", "!", " ", "$", "1", ",", "5" }.SelectMany(piece => gpt2.EncodeToIds(piece))];

        Assert.Equal(expected, tokenizer.EncodeToIds("Hi, there! $1,5"));
    }

    [Fact]
    public void IgnoreMerges_KeepsAWholeVocabularyWord_ThatMergesCannotReach()
    {
        // Without the merge that makes "Ġworld" (id 995), BPE splits " world" into " wor" + "ld"; with ignore_merges
        // (as Llama 3's tokenizer.json sets it) Hugging Face looks the whole word up first and keeps 995.
        static void DropWorldMerge(JsonObject root) => root["model"]!["merges"] = new JsonArray([.. root["model"]!["merges"]!.AsArray()
            .Where(m => m!.GetValue<string>().Replace(" ", string.Empty, StringComparison.Ordinal) != "\u0120world").Select(m => m!.DeepClone())]);
        var merging = TokenizerJsonReader.Read(_folders.Make("no-world-merge", DropWorldMerge)).Tokenizer!;
        var ignoring = TokenizerJsonReader.Read(_folders.Make("ignore-merges", root =>
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
    public void UnsupportedPreTokenizer_LeavesIdsOnly_WithTheReason()
    {
        var folder = _folders.Make("whitespace-split", root => root["pre_tokenizer"] = JsonNode.Parse("""{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"ByteLevel","use_regex":false}]}"""));

        var loaded = TokenizerJsonReader.Read(folder);

        Assert.Null(loaded.Tokenizer);
        Assert.Contains("WhitespaceSplit", loaded.Problem);
    }

    /// <summary>
    /// Copies of the GPT-2 fixture (graph and genai_config.json, so ONNX Runtime GenAI loads them too) whose
    /// tokenizer.json keeps GPT-2's vocabulary and merges but declares another tokenizer: pure GPT-2 (only
    /// &lt;|endoftext|&gt; added), Llama 3's and Qwen 2.5's Split patterns (Qwen also with its NFC normalizer).
    /// </summary>
    public sealed class Folders : IDisposable
    {
        private readonly string _root = Path.Combine(Path.GetTempPath(), "llmadapt-bytelevel-" + Guid.NewGuid().ToString("N"));
        private readonly Dictionary<string, Microsoft.ML.Tokenizers.Tokenizer> _loaded = [];

        public Folders()
        {
            PureGpt2 = Make("gpt2", _ => { });
            Llama3 = Make("llama3", root => root["pre_tokenizer"] = SplitThenByteLevel(Llama3Pattern));
            Qwen25 = Make("qwen25", root =>
            {
                root["pre_tokenizer"] = SplitThenByteLevel(Qwen25Pattern);
                root["normalizer"] = new JsonObject { ["type"] = "NFC" };
            });
        }

        public string PureGpt2 { get; }

        public string Llama3 { get; }

        public string Qwen25 { get; }

        public Microsoft.ML.Tokenizers.Tokenizer Ours(string folder)
        {
            lock (_loaded)
            {
                if (!_loaded.TryGetValue(folder, out var tokenizer))
                {
                    tokenizer = TokenizerJsonReader.Read(folder).Tokenizer ?? throw new InvalidOperationException(TokenizerJsonReader.Read(folder).Problem);
                    _loaded[folder] = tokenizer;
                }

                return tokenizer;
            }
        }

        public string Make(string name, Action<JsonObject> edit)
        {
            var folder = Path.Combine(_root, name);
            Directory.CreateDirectory(folder);
            foreach (var file in new[] { "genai_config.json", "past.onnx" })
            {
                File.Copy(Path.Combine(GenerationModels.Gpt2Directory, file), Path.Combine(folder, file));
            }

            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(GenerationModels.Gpt2Directory, "tokenizer.json")))!.AsObject();
            root["added_tokens"] = new JsonArray(root["added_tokens"]!.AsArray().First(t => t!["id"]!.GetValue<int>() == 50256)!.DeepClone());
            edit(root);
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), root.ToJsonString());
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"tokenizer_class":"GPT2Tokenizer","bos_token":"<|endoftext|>","eos_token":"<|endoftext|>"}""");
            return folder;
        }

        public void Dispose() => Directory.Delete(_root, recursive: true);

        private static JsonObject SplitThenByteLevel(string pattern) => new()
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };
    }
}
