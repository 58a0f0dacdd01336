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
