using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Gpt2;

namespace LlmAdapt.Training.Tests;

/// <summary>Reports progress on the caller's thread, in order (<see cref="Progress{T}"/> posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
{
    public void Report(T value) => action(value);
}

/// <summary>Progress that cancels <see cref="Token"/> when step <c>step</c> is reported: how a test interrupts a training run.</summary>
internal sealed class CancelAtStep(int step) : IProgress<TrainingProgress>, IDisposable
{
    private readonly CancellationTokenSource _source = new();

    public CancellationToken Token => _source.Token;

    public void Report(TrainingProgress value)
    {
        if (value.Step == step)
        {
            _source.Cancel();
        }
    }

    public void Dispose() => _source.Dispose();
}

/// <summary>Checkpoints the trainer tests start from.</summary>
internal static class TinyCheckpoints
{
    /// <summary>
    /// Saves a random 1-layer, 16-wide GPT-2 with GPT-2's vocabulary (so the folder needs no tokenizer files), its token
    /// embeddings multiplied by <paramref name="embeddingScale"/>, to a new temporary folder, and returns the folder.
    /// </summary>
    public static async Task<string> Gpt2Async(int contextLength = 32, int seed = 1, float embeddingScale = 1)
    {
        var dir = TestData.TempDirectory();
        var model = new Gpt2Model<float>(new Gpt2Config { Layers = 1, Heads = 2, Channels = 16, ContextLength = contextLength });
        model.InitializeRandom(seed);
        if (embeddingScale != 1)
        {
            var wte = model.Values("transformer.wte.weight");
            System.Numerics.Tensors.TensorPrimitives.Multiply(wte, embeddingScale, wte);
        }

        await DecoderCheckpoint.SaveAsync(model, dir, CancellationToken.None);
        return dir;
    }
}

/// <summary>Comparisons of files the trainers write.</summary>
internal static class SafeTensorsAssert
{
    /// <summary>Asserts that two safetensors files hold the same tensor names with bit-identical values.</summary>
    public static void SameTensors(string expected, string actual)
    {
        using var a = LlmAdapt.Formats.SafeTensorsReader.Open(expected);
        using var b = LlmAdapt.Formats.SafeTensorsReader.Open(actual);
        Assert.Equal(a.Tensors.Keys.Order(), b.Tensors.Keys.Order());
        foreach (var name in a.Tensors.Keys)
        {
            Assert.Equal(a.ReadSingle(name), b.ReadSingle(name));
        }
    }
}
