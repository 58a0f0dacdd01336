using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models.Llama;
using Xunit.Abstractions;

namespace LlmAdapt.Training.Tests.Models;

public sealed class LlamaGradientCheckTests(ITestOutputHelper log)
{
    internal static readonly LlamaConfig Tiny = new() { VocabSize = 19, ContextLength = 8, Layers = 2, Heads = 4, KeyValueHeads = 2, Channels = 16, IntermediateSize = 24 };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WholeModel_WithGroupedQueryAttention_EveryTensorMatchesFiniteDifferences(bool tied)
    {
        var config = Tiny with { TieWordEmbeddings = tied };
        var model = new LlamaModel<double>(config);
        model.InitializeRandom(1);
        ModelGradientCheck.Perturb(model.Parameters.Span, model.Parameters.Length, 2, 0.4);
        var (inputs, targets) = Gpt2GradientCheckTests.Batch(2, 6, config.VocabSize, 3, maskSome: true);
        var worst = ModelGradientCheck.EveryTensor(model, inputs, targets, 2, 6, samples: 10);
        log.WriteLine($"Llama (tied {tied}): worst relative error {worst:E2}");

        Assert.Equal(tied ? 1 + (2 * 9) + 1 : 1 + (2 * 9) + 2, model.Tensors.Count);
    }

    [Fact]
    public void HeadDimOtherThanWidthOverHeads_EveryTensorMatchesFiniteDifferences()
    {
        // head_dim 6 with 4 heads: the query projection is 24 wide while the residual stream is 16 (as Gemma-style configs do).
        var config = Tiny with { HeadDim = 6 };
        var model = new LlamaModel<double>(config);
        model.InitializeRandom(2);
        ModelGradientCheck.Perturb(model.Parameters.Span, model.Parameters.Length, 3, 0.4);
        var (inputs, targets) = Gpt2GradientCheckTests.Batch(2, 5, config.VocabSize, 4, maskSome: true);
        var worst = ModelGradientCheck.EveryTensor(model, inputs, targets, 2, 5, samples: 10);
        log.WriteLine($"Llama (head_dim 6): worst relative error {worst:E2}");

        Assert.Equal([24L, 16], model.Tensors.Single(t => t.Name == "model.layers.0.self_attn.q_proj.weight").Shape);
        Assert.Equal([16L, 24], model.Tensors.Single(t => t.Name == "model.layers.0.self_attn.o_proj.weight").Shape);
    }

    [Fact]
    public void WholeModelWithLoraOnEveryProjection_AdapterGradientsMatchFiniteDifferences_AndBaseStaysFrozen()
    {
        var model = new LlamaModel<double>(Tiny);
        model.InitializeRandom(4);
        ModelGradientCheck.Perturb(model.Parameters.Span, model.Parameters.Length, 5, 0.4);

        // Empty target modules: Llama's default set, q/k/v/o and gate/up/down, in every layer. With dropout set, the
        // (evaluation-mode) forward and backward go through the masked path.
        var lora = model.AttachLora(new LoraOptions { Rank = 2, Alpha = 4, Dropout = 0.1 }, seed: 6);
        Assert.Equal(2 * 7, lora.Modules.Count);
        Assert.Equal("model.layers.1.mlp.down_proj", lora.Modules[^1].Name);
        var (inputs, targets) = Gpt2GradientCheckTests.Batch(2, 5, Tiny.VocabSize, 7, maskSome: true);
        var worst = ModelGradientCheck.Adapters(model, inputs, targets, 2, 5, seed: 8);
        log.WriteLine($"Llama + LoRA: worst relative error {worst:E2}");
    }

    [Fact]
    public void MergedLora_GivesTheSameLogitsAsTheAdaptedModel()
    {
        var model = new LlamaModel<double>(Tiny with { TieWordEmbeddings = false });
        model.InitializeRandom(9);
        model.AttachLora(new LoraOptions { Rank = 3, Alpha = 6, TargetModules = ["k_proj", "o_proj", "up_proj", "down_proj"] }, seed: 10);
        var (inputs, targets) = Gpt2GradientCheckTests.Batch(1, 7, Tiny.VocabSize, 11);
        ModelGradientCheck.MergeMatchesAdapted(model, inputs, targets, 7, seed: 12);
    }

    [Fact]
    public void WeightedLoss_GradientsMatchFiniteDifferences_AndEqualRepeatingTheExample()
    {
        var model = new LlamaModel<double>(Tiny);
        model.InitializeRandom(13);
        ModelGradientCheck.Perturb(model.Parameters.Span, model.Parameters.Length, 14, 0.4);
        var (inputs, targets) = Gpt2GradientCheckTests.Batch(2, 4, Tiny.VocabSize, 15);
        float[] weights = [2, 2, 2, 2, 1, 1, 1, 1];
        var worst = ModelGradientCheck.EveryTensor(model, inputs, targets, 2, 4, samples: 6, weights);
        log.WriteLine($"Llama, weighted loss: worst relative error {worst:E2}");

        // Weight 2 on the first row is the same loss and gradient as that row appearing twice.
        var weighted = model.Forward(inputs, targets, 2, 4, weights);
        model.ZeroGrad();
        model.Backward();
        var weightedGrads = model.Gradients!.Span.ToArray();
        int[] inputs3 = [.. inputs[..4], .. inputs[..4], .. inputs[4..]];
        int[] targets3 = [.. targets[..4], .. targets[..4], .. targets[4..]];
        var repeated = model.Forward(inputs3, targets3, 3, 4);
        model.ZeroGrad();
        model.Backward();
        Assert.Equal(repeated, weighted, 12);
        for (var i = 0; i < weightedGrads.Length; i++)
        {
            Assert.Equal(model.Gradients.Span[i], weightedGrads[i], 12);
        }
    }

    [Fact]
    public void Config_RejectsKeyValueHeadsThatDoNotDivideTheHeads()
    {
        var ex = Assert.Throws<ArgumentException>(() => new LlamaConfig { Heads = 4, KeyValueHeads = 3, Channels = 16 }.Validate());
        Assert.Contains("num_key_value_heads 3", ex.Message, StringComparison.Ordinal);
    }
}
