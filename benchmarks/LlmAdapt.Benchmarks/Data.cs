namespace LlmAdapt.Benchmarks;

/// <summary>Finds the shared datasets next to the repository (`../shared/data`), wherever the benchmark runs from.</summary>
internal static class Data
{
    public static string SharedRoot { get; } = FindShared();

    public static string PathOf(string relative) => Path.Combine(SharedRoot, "data", relative);

    private static string FindShared()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
        if (!string.IsNullOrEmpty(fromEnvironment) && Directory.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")) && Directory.Exists(Path.Combine(dir.Parent?.FullName ?? dir.FullName, "shared")))
            {
                return Path.Combine(dir.Parent!.FullName, "shared");
            }

            if (Directory.Exists(Path.Combine(candidate, "data")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("The shared datasets were not found: put the repository next to 'shared/' or set LLMADAPT_SHARED.");
    }
}
