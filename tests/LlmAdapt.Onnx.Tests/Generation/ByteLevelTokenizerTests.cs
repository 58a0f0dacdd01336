using System.Text.Json;
using LlmAdapt.Tests.Tokens;
using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Onnx.Tests.Generation;

/// <summary>
/// Byte-level BPE from <c>tokenizer.json</c> (LlmAdapt.Tokens.HuggingFaceTokenizer, tested on its own in LlmAdapt.Tests)
/// against ONNX Runtime GenAI's tokenizer (a third-party peer) on the same files: whitespace runs, tabs, newlines, unicode
/// and emoji, with the pre-tokenizer each file declares (GPT-2's, Llama 3's, Qwen 2.5's).
/// </summary>
public sealed class ByteLevelTokenizerTests : IClassFixture<ByteLevelTokenizerTests.Folders>
{
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

    /// <summary>Copies of the GPT-2 fixture with its graph and genai_config.json, so ONNX Runtime GenAI loads them too.</summary>
    public sealed class Folders : TokenizerFolders
    {
        public Folders()
            : base(GenerationModels.Gpt2Directory, "genai_config.json", "past.onnx")
        {
        }
    }
}
