using LlmAdapt.Formats;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Llama;

namespace LlmAdapt.Training.Tests.Data;

public sealed class DecoderTokenizerTests
{
    /// <summary>A Llama checkpoint folder's own tokenizer files (SentencePiece-style BPE, 32,000 tokens, byte fallback).</summary>
    internal static readonly string LlamaTokenizerFolder = Path.Combine(TestData.SharedRoot, "models", "onnxruntime-genai", "tiny-random-LlamaForCausalLM-fp16");

    internal static readonly LlamaConfig TinyLlama32k = new() { VocabSize = 32000, ContextLength = 32, Layers = 1, Heads = 4, KeyValueHeads = 2, Channels = 32, IntermediateSize = 64, TieWordEmbeddings = true };

    /// <summary>Writes a small random Llama checkpoint that carries the 32,000-token Llama tokenizer files.</summary>
    /// <param name="seed">The weights' seed.</param>
    /// <param name="embeddingScale">
    /// Scales the embeddings up, so that a frozen random base still lets adapters move its logits (a stand-in for
    /// pre-training; a fresh N(0, 0.02) head is too flat for any adapter to matter).
    /// </param>
    internal static async Task<string> LlamaCheckpointWithItsOwnTokenizerAsync(int seed, float embeddingScale = 1)
    {
        var dir = TestData.TempDirectory();
        var model = new LlamaModel<float>(TinyLlama32k);
        model.InitializeRandom(seed);
        System.Numerics.Tensors.TensorPrimitives.Multiply(model.Values("model.embed_tokens.weight"), embeddingScale, model.Values("model.embed_tokens.weight"));
        await DecoderCheckpoint.SaveAsync(model, dir, CancellationToken.None);
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
        {
            File.Copy(Path.Combine(LlamaTokenizerFolder, name), Path.Combine(dir, name));
        }

        return dir;
    }

    [Fact]
    public async Task WrittenGpt2Files_LoadAsByteLevelBpe_AndTokenizeLikeTheBuiltInGpt2()
    {
        var dir = TestData.TempDirectory();
        var written = await Gpt2TokenizerFiles.WriteAsync(dir, 128);
        Assert.All(written, name => Assert.True(File.Exists(Path.Combine(dir, name)), name));
        Assert.StartsWith("#version", await File.ReadAllTextAsync(Path.Combine(dir, "merges.txt")), StringComparison.Ordinal);

        var tokenizer = await DecoderTokenizer.LoadAsync(dir, new HuggingFaceModelConfig { VocabSize = 50257 }, CancellationToken.None);
        Assert.Equal("byte-level-bpe", tokenizer.Kind);
        Assert.Equal(50256, tokenizer.EndOfText);

        // Sample: the first 4,000 characters of tinyshakespeare, plus accents, digits, emoji and runs of spaces.
        var text = (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..4000] + " Café 2024 — naïve 🙂  x   y\n\n";
        Assert.Equal(DecoderTokenizer.Gpt2.Encode(text), tokenizer.Encode(text));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public async Task ByteLevelTokenizer_HonoursItsSplitRule_SingleDigitsAsSmolLm2Has()
    {
        var dir = TestData.TempDirectory();
        await Gpt2TokenizerFiles.WriteAsync(dir, 128);
        var path = Path.Combine(dir, "tokenizer.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        json["pre_tokenizer"] = System.Text.Json.Nodes.JsonNode.Parse("""{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]}""");
        await File.WriteAllTextAsync(path, json.ToJsonString());

        var tokenizer = await DecoderTokenizer.LoadAsync(dir, new HuggingFaceModelConfig { VocabSize = 50257 }, CancellationToken.None);
        Assert.Equal(["1", "9", "8", "4"], tokenizer.Encode("1984").Select(id => tokenizer.Decode([id])));
        Assert.Equal(DecoderTokenizer.Gpt2.Encode("the year was"), tokenizer.Encode("the year was"));
    }

    [Fact]
    public async Task LlamaCheckpoint_IsTokenizedWithItsOwnSentencePieceTokenizer()
    {
        var dir = await LlamaCheckpointWithItsOwnTokenizerAsync(1);
        var tokenizer = await DecoderTokenizer.LoadAsync(dir, await HuggingFaceModelConfig.ReadAsync(dir), CancellationToken.None);
        Assert.Equal("sentencepiece-bpe", tokenizer.Kind);
        Assert.Equal(2, tokenizer.EndOfText);
        Assert.Equal(1, tokenizer.BeginningOfText);

        // Llama 2's tokenizer: "▁Hello" is 15043 and "▁world" 3186; a newline falls back to the byte token <0x0A> (13),
        // after which "world" (11526) has no leading ▁.
        Assert.Equal([15043, 3186], tokenizer.Encode("Hello world"));
        Assert.Equal([15043, 13, 11526], tokenizer.Encode("Hello\nworld"));
        var text = "Hello world\nline two: naïve café 🙂";
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public async Task FolderWithoutTokenizerJson_AndANonGpt2Vocabulary_IsRejected()
    {
        var dir = TestData.TempDirectory();
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => DecoderTokenizer.LoadAsync(dir, new HuggingFaceModelConfig { VocabSize = 32000 }, CancellationToken.None));
        Assert.Contains("tokenizer.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("32000", ex.Message, StringComparison.Ordinal);
    }
}
