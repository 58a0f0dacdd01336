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
    public async Task WrittenGpt2Files_LoadAsByteLevelBpe_EndingWithEndOfText()
    {
        // The reader itself is tested in LlmAdapt.Tests (Tokens/HuggingFaceTokenizerTests); here, what the engine takes from it.
        var dir = TestData.TempDirectory();
        await Gpt2TokenizerFiles.WriteAsync(dir, 128);

        var tokenizer = DecoderTokenizer.Load(dir, new HuggingFaceModelConfig { VocabSize = 50257 });

        Assert.Equal("byte-level-bpe", tokenizer.Kind);
        Assert.Equal(50256, tokenizer.EndOfText);
        Assert.Null(tokenizer.BeginningOfText);
        Assert.Equal(DecoderTokenizer.Gpt2.Encode("the year was 1984"), tokenizer.Encode("the year was 1984"));
    }

    [Fact]
    public async Task LlamaCheckpoint_IsTokenizedWithItsOwnSentencePieceTokenizer()
    {
        var dir = await LlamaCheckpointWithItsOwnTokenizerAsync(1);
        var tokenizer = DecoderTokenizer.Load(dir, await HuggingFaceModelConfig.ReadAsync(dir));
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
    public void FolderWithoutTokenizerJson_AndANonGpt2Vocabulary_IsRejected()
    {
        var dir = TestData.TempDirectory();
        var ex = Assert.Throws<ModelLoadException>(() => DecoderTokenizer.Load(dir, new HuggingFaceModelConfig { VocabSize = 32000 }));
        Assert.Contains("tokenizer.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("32000", ex.Message, StringComparison.Ordinal);
    }
}
