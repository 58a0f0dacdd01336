namespace LlmAdapt.Tests;

/// <summary>Finds the shared datasets: ../shared beside the folder that holds LlmAdapt.sln, or LLMADAPT_SHARED.</summary>
internal static class TestData
{
    private static readonly Lazy<string> s_root = new(Find);

    public static string SharedRoot => s_root.Value;

    public static string PathOf(string relativeToData) => Path.Combine(SharedRoot, "data", relativeToData);

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new DirectoryNotFoundException("LlmAdapt.sln was not found above " + AppContext.BaseDirectory);
        }
    }

    private static string Find()
    {
        var env = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(Path.Combine(env, "data")))
        {
            return env;
        }

        var candidate = Path.Combine(Directory.GetParent(RepositoryRoot)!.FullName, "shared");
        return Directory.Exists(Path.Combine(candidate, "data"))
            ? candidate
            : throw new DirectoryNotFoundException($"The shared datasets were not found at {candidate}; set LLMADAPT_SHARED.");
    }
}
