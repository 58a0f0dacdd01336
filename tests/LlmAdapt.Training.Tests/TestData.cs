namespace LlmAdapt.Training.Tests;

/// <summary>Finds the shared datasets: $LLMADAPT_SHARED, or ../shared beside the folder holding LlmAdapt.sln.</summary>
internal static class TestData
{
    public static string SharedRoot { get; } = Find();

    public static string PathOf(string relative) => Path.Combine(SharedRoot, "data", relative);

    public static string TempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "llmadapt-training-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string Find()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
        if (!string.IsNullOrEmpty(fromEnvironment) && Directory.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")) && dir.Parent is { } parent && Directory.Exists(Path.Combine(parent.FullName, "shared")))
            {
                return Path.Combine(parent.FullName, "shared");
            }
        }

        throw new DirectoryNotFoundException("The shared datasets were not found: put the repository next to 'shared/' or set LLMADAPT_SHARED.");
    }
}

/// <summary>Reports progress on the caller's thread, in order (<see cref="Progress{T}"/> posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
{
    public void Report(T value) => action(value);
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
