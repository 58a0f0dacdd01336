namespace LlmAdapt.Testing;

/// <summary>
/// The one locator of the shared datasets and models for every test project and the benchmarks:
/// <c>$LLMADAPT_SHARED</c>, else <c>shared/</c> beside the folder that holds <c>LlmAdapt.sln</c> (or inside it).
/// Linked into each project from <c>tests/Shared</c>.
/// </summary>
internal static class TestData
{
    private static readonly Lazy<string> s_repositoryRoot = new(FindRepositoryRoot);
    private static readonly Lazy<string> s_sharedRoot = new(FindShared);

    /// <summary>The folder that holds <c>LlmAdapt.sln</c>.</summary>
    public static string RepositoryRoot => s_repositoryRoot.Value;

    /// <summary>The shared folder (it holds <c>data/</c> and <c>models/</c>).</summary>
    public static string SharedRoot => s_sharedRoot.Value;

    /// <summary>A path under <c>shared/data</c>.</summary>
    public static string PathOf(string relativeToData) => Path.Combine(SharedRoot, "data", relativeToData);

    /// <summary>A path under <c>shared/models</c>.</summary>
    public static string ModelPath(string relativeToModels) => Path.Combine(SharedRoot, "models", relativeToModels);

    /// <summary>A new empty folder under the system temp folder, unique to the caller.</summary>
    public static string TempDirectory(string prefix = "llmadapt-tests")
    {
        var path = Path.Combine(Path.GetTempPath(), prefix, Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRepositoryRoot()
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

    private static string FindShared()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return Directory.Exists(Path.Combine(fromEnvironment, "data"))
                ? fromEnvironment
                : throw new DirectoryNotFoundException($"LLMADAPT_SHARED names {fromEnvironment}, which has no data/ folder.");
        }

        string[] candidates = [Path.Combine(Directory.GetParent(RepositoryRoot)!.FullName, "shared"), Path.Combine(RepositoryRoot, "shared")];
        return candidates.FirstOrDefault(c => Directory.Exists(Path.Combine(c, "data")))
            ?? throw new DirectoryNotFoundException($"The shared datasets were not found at {candidates[0]}: put the repository next to 'shared/' or set LLMADAPT_SHARED.");
    }
}
