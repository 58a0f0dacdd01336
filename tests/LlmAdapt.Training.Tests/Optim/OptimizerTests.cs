using LlmAdapt.Training.Kernels;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Optim;
using LlmAdapt.Training.Tests.Models;

namespace LlmAdapt.Training.Tests.Optim;

public sealed class OptimizerTests
{
    [Fact]
    public void Schedule_WarmsUpLinearly_ThenDecaysByCosineToTheFloor()
    {
        var schedule = new LearningRateSchedule(1e-3, 1e-4, 10, 110);
        Assert.Equal(1e-4, schedule.At(1), 12);
        Assert.Equal(5e-4, schedule.At(5), 12);
        Assert.Equal(1e-3, schedule.At(10), 12);
        Assert.Equal(5.5e-4, schedule.At(60), 12);
        Assert.Equal(1e-4, schedule.At(110), 12);
        for (var s = 11; s < 110; s++)
        {
            Assert.True(schedule.At(s + 1) <= schedule.At(s));
        }
    }

    [Fact]
    public void ClipGradients_ScalesTheGlobalNormDownToTheLimit()
    {
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(1);
        var (inputs, targets) = Gpt2GradientCheckTests.Batch(2, 8, 23, 2);
        model.Forward(inputs, targets, 2, 8);
        model.ZeroGrad();
        model.Backward();
        var optimizer = new AdamW<float>(model.Trainable);
        var before = optimizer.ClipGradients(0);
        Assert.True(before > 0.01);
        optimizer.ClipGradients(before / 10);
        Assert.Equal(before / 10, optimizer.ClipGradients(0), 4);
    }

    [Fact]
    public void GradientAccumulation_OfTwoHalves_EqualsOneFullBatch()
    {
        var config = Gpt2GradientCheckTests.Tiny;
        var (inputs, targets) = Gpt2GradientCheckTests.Batch(4, 8, 23, 3);
        var full = new Gpt2Model<double>(config);
        full.InitializeRandom(4);
        full.Forward(inputs, targets, 4, 8);
        full.ZeroGrad();
        full.Backward();

        var halves = new Gpt2Model<double>(config);
        halves.InitializeRandom(4);
        halves.ZeroGrad();
        for (var part = 0; part < 2; part++)
        {
            halves.Forward(inputs[(part * 16)..((part + 1) * 16)], targets[(part * 16)..((part + 1) * 16)], 2, 8);
            halves.Backward(0.5);
        }

        for (var i = 0; i < full.Gradients!.Length; i++)
        {
            Assert.Equal(full.Gradients.Span[i], halves.Gradients!.Span[i], 10);
        }
    }

    [Fact]
    public void AdamW_LowersTheLossOfARepeatingPattern()
    {
        var model = new Gpt2Model<float>(Gpt2GradientCheckTests.Tiny);
        model.InitializeRandom(5);
        var inputs = Enumerable.Range(0, 16).Select(i => i % 4).ToArray();
        var targets = Enumerable.Range(1, 16).Select(i => i % 4).ToArray();
        var optimizer = new AdamW<float>(model.Trainable, weightDecay: 0.01);
        var first = 0.0;
        var last = 0.0;
        for (var step = 0; step < 60; step++)
        {
            last = model.Forward(inputs, targets, 2, 8);
            first = step == 0 ? last : first;
            model.ZeroGrad();
            model.Backward();
            optimizer.Step(1e-2);
        }

        Assert.True(last < first / 5, $"loss {first:F3} -> {last:F3}");
    }

    [Fact]
    public void ClipGradients_OverSeveralChunks_GivesTheSameNormOnOneAndThreeThreads_AsAFloat64Sum()
    {
        // 200,003 gradients in two slices: four 64K chunks, one short, shared out to the threads and summed in order.
        var random = new Random(9);
        float[] first = [.. Enumerable.Range(0, 150_001).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] second = [.. Enumerable.Range(0, 50_002).Select(_ => (float)(random.NextDouble() - 0.5))];
        var expected = Math.Sqrt(first.Concat(second).Sum(g => (double)g * g));
        double Norm(int threads)
        {
            using var workers = new Workers(threads);
            var slices = new[]
            {
                new TrainableSlice<float>("a", new float[first.Length], first, true),
                new TrainableSlice<float>("b", new float[second.Length], second, false),
            };
            return new AdamW<float>(slices) { Workers = workers }.ClipGradients(0);
        }

        var one = Norm(1);
        Assert.Equal(expected, one, 6);
        Assert.Equal(one, Norm(3));
    }
}
