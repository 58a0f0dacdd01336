using LlmAdapt.Training.Models.Llama;
using Xunit.Abstractions;

namespace LlmAdapt.Training.Tests.Models;

public sealed class LlamaGradientCheckTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WholeModel_WithGroupedQueryAttention_EveryTensorMatchesFiniteDifferences(bool tied)
    {
        var config = new LlamaConfig { VocabSize = 19, ContextLength = 8, Layers = 2, Heads = 4, KeyValueHeads = 2, Channels = 16, IntermediateSize = 24, TieWordEmbeddings = tied };
        var model = new LlamaModel<double>(config);
        model.InitializeRandom(1);
        var random = new Random(2);
        var values = model.Parameters.Array;
        for (var i = 0; i < model.Parameters.Length; i++)
        {
            values[i] += (random.NextDouble() - 0.5) * 0.4;
        }

        var (inputs, targets) = Gpt2GradientCheckTests.Batch(2, 6, config.VocabSize, 3, maskSome: true);
        model.Forward(inputs, targets, 2, 6);
        model.ZeroGrad();
        model.Backward();
        var grads = model.Gradients!.Array;
        double Loss() => model.Forward(inputs, targets, 2, 6);
        var worst = 0.0;
        foreach (var tensor in model.Tensors)
        {
            var error = GradientCheck.MaxRelativeError(values, tensor.Offset, tensor.Length, Loss, i => grads[tensor.Offset + i], samples: 10);
            Assert.True(error < 1e-3, $"{tensor.Name}: relative error {error:E2}");
            worst = Math.Max(worst, error);
        }

        log.WriteLine($"Llama (tied {tied}): worst relative error {worst:E2}");

        Assert.Equal(tied ? 1 + (2 * 9) + 1 : 1 + (2 * 9) + 2, model.Tensors.Count);
    }

    [Fact]
    public void Config_RejectsKeyValueHeadsThatDoNotDivideTheHeads()
    {
        var ex = Assert.Throws<ArgumentException>(() => new LlamaConfig { Heads = 4, KeyValueHeads = 3, Channels = 16 }.Validate());
        Assert.Contains("num_key_value_heads 3", ex.Message, StringComparison.Ordinal);
    }
}
