using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Onnx.Tests.Generation;

public sealed class HugePagesTests
{
    private const long M = 1L << 20;

    [Fact]
    public void NewRanges_AreOnlyTheAddressesNoEarlierMappingCovered()
    {
        (long, long)[] before = [(0, 8 * M), (100 * M, 101 * M)];
        (long, long)[] after =
        [
            (0, 8 * M),                 // unchanged: left alone
            (20 * M, 30 * M),           // new: advised whole
            (96 * M, 110 * M),          // grew around an old mapping (merged by the kernel): only the new parts
            (200 * M, 202 * M),         // new but under 4 MiB: left alone
        ];

        var ranges = HugePages.NewRanges(before, after);

        Assert.Equal([(20 * M, 30 * M), (96 * M, 100 * M), (101 * M, 110 * M)], ranges);
    }

    [Fact]
    public void Load_WithAndWithoutHugePages_GeneratesTheSameIds()
    {
        int[] prompt = [0, 0, 195, 731];
        using var plain = OnnxDecoderModel.Load(GenerationModels.Gpt2Directory, new OnnxDecoderModelOptions { TransparentHugePages = false });

        var expected = plain.Generate(prompt, new GenerationOptions { MaxNewTokens = 24 }).Sequence;

        Assert.True(new OnnxDecoderModelOptions().TransparentHugePages);
        Assert.Equal(expected, GenerationModels.Gpt2.Generate(prompt, new GenerationOptions { MaxNewTokens = 24 }).Sequence);
    }
}
