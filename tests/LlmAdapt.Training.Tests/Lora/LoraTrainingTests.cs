using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Optim;
using LlmAdapt.Training.Tests.Models;
using Xunit.Abstractions;

namespace LlmAdapt.Training.Tests.Lora;

public sealed class LoraTrainingTests(ITestOutputHelper output)
{
    [Fact]
    public void AdamWOnAdapters_LowersTheLossOfAPattern_WhileTheBaseStaysFixed()
    {
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(5);
        var wte = model.Values("transformer.wte.weight");
        for (var i = 0; i < wte.Length; i++)
        {
            wte[i] *= 50;
        }

        var baseValues = model.Parameters.Span.ToArray();
        model.AttachLora(new LoraOptions { Rank = 4, Alpha = 8 }, seed: 1);
        var inputs = Enumerable.Range(0, 16).Select(i => i % 4).ToArray();
        var targets = Enumerable.Range(1, 16).Select(i => i % 4).ToArray();
        var optimizer = new AdamW<float>(model.Trainable);
        var losses = new List<double>();
        for (var step = 0; step < 60; step++)
        {
            losses.Add(model.Forward(inputs, targets, 2, 8));
            model.ZeroGrad();
            model.Backward();
            optimizer.Step(1e-2);
        }

        output.WriteLine(string.Join(" ", losses.Select(l => l.ToString("F2", System.Globalization.CultureInfo.InvariantCulture))));
        Assert.True(losses[^1] < losses[0] / 2, $"loss {losses[0]:F3} -> {losses[^1]:F3}");
        Assert.Equal(baseValues, model.Parameters.Span.ToArray());
    }
}
