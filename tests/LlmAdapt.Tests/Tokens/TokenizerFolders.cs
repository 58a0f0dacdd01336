using System.Text.Json.Nodes;
using LlmAdapt.Tokens;

namespace LlmAdapt.Tests.Tokens;

/// <summary>
/// Copies of the shared GPT-2 fixture's tokenizer files whose <c>tokenizer.json</c> keeps GPT-2's vocabulary and merges
/// but declares another tokenizer: pure GPT-2 (only &lt;|endoftext|&gt; added), Llama 3's and Qwen 2.5's Split patterns
/// (Qwen also with its NFC normalizer). Also compiled into LlmAdapt.Onnx.Tests, whose fixture copies the graph and
/// <c>genai_config.json</c> too, so ONNX Runtime GenAI loads the same folders.
/// </summary>
public abstract class TokenizerFolders : IDisposable
{
    /// <summary>Llama 3's pre-tokenizer split: digits in groups of up to three.</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen 2.5's pre-tokenizer split: every digit on its own.</summary>
    public const string Qwen25Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "llmadapt-tokenizers-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, Microsoft.ML.Tokenizers.Tokenizer> _loaded = [];
    private readonly string _source;
    private readonly string[] _alsoCopied;

    /// <param name="source">The GPT-2 fixture folder.</param>
    /// <param name="alsoCopied">Other files of the fixture every copy gets.</param>
    protected TokenizerFolders(string source, params string[] alsoCopied)
    {
        _source = source;
        _alsoCopied = alsoCopied;
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

    /// <summary>The folder's tokenizer, loaded once.</summary>
    public Microsoft.ML.Tokenizers.Tokenizer Ours(string folder)
    {
        lock (_loaded)
        {
            if (!_loaded.TryGetValue(folder, out var tokenizer))
            {
                tokenizer = HuggingFaceTokenizer.Load(folder).Tokenizer!;
                _loaded[folder] = tokenizer;
            }

            return tokenizer;
        }
    }

    /// <summary>A copy of the fixture with its tokenizer.json edited.</summary>
    public string Make(string name, Action<JsonObject> edit)
    {
        var folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        foreach (var file in _alsoCopied)
        {
            File.Copy(Path.Combine(_source, file), Path.Combine(folder, file));
        }

        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(_source, "tokenizer.json")))!.AsObject();
        root["added_tokens"] = new JsonArray(root["added_tokens"]!.AsArray().First(t => t!["id"]!.GetValue<int>() == 50256)!.DeepClone());
        edit(root);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), root.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"tokenizer_class":"GPT2Tokenizer","bos_token":"<|endoftext|>","eos_token":"<|endoftext|>"}""");
        return folder;
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        GC.SuppressFinalize(this);
    }

    private static JsonObject SplitThenByteLevel(string pattern) => new()
    {
        ["type"] = "Sequence",
        ["pretokenizers"] = new JsonArray(
            new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = pattern }, ["behavior"] = "Isolated", ["invert"] = false },
            new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
    };
}
