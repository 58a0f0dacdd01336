using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Onnx.Tests.Generation;

public sealed class GreedyDecodingTests
{
    // ONNX Runtime GenAI's own test expectations for this fixture (greedy, max_length 10): see shared/models/README.md.
    private static readonly int[][] s_prompts = [[0, 0, 0, 52], [0, 0, 195, 731]];
    private static readonly int[][] s_expected = [[0, 0, 0, 52, 204, 204, 204, 204, 204, 204], [0, 0, 195, 731, 731, 114, 114, 114, 114, 114]];

    [Fact]
    public void Gpt2_Batch_ReproducesOrtGenAIReference()
    {
        var results = GenerationModels.Gpt2.Generate(s_prompts, new GenerationOptions { MaxNewTokens = 6 });

        Assert.Equal(s_expected[0], results[0].Sequence);
        Assert.Equal(s_expected[1], results[1].Sequence);
        Assert.All(results, r => Assert.Equal(GenerationFinishReason.MaxNewTokens, r.FinishReason));
    }

    [Fact]
    public void Gpt2_OneByOne_ReproducesOrtGenAIReference()
    {
        for (var i = 0; i < s_prompts.Length; i++)
        {
            var result = GenerationModels.Gpt2.Generate(s_prompts[i], new GenerationOptions { MaxNewTokens = 6 });
            Assert.Equal(s_expected[i], result.Sequence);
        }
    }

    [Fact]
    public void Gpt2_LeftPaddedBatch_EqualsEachPromptAlone()
    {
        int[][] prompts = [[0, 0, 0, 52], [195, 731], [7, 3, 500, 12, 99, 8, 41]];
        var options = new GenerationOptions { MaxNewTokens = 24 };

        var batch = GenerationModels.Gpt2.Generate(prompts, options);

        for (var i = 0; i < prompts.Length; i++)
        {
            var alone = GenerationModels.Gpt2.Generate(prompts[i], options);
            Assert.Equal(alone.TokenIds, batch[i].TokenIds);
            Assert.Equal(prompts[i], batch[i].PromptTokenIds);
        }
    }
}
