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
