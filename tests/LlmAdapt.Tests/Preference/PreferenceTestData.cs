namespace LlmAdapt.Tests.Preference;

/// <summary>Finds ../shared/data beside the repository (or LLMADAPT_SHARED); a missing file fails the test loudly.</summary>
internal static class PreferenceTestData
{
    public static string PathOf(string relative)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return Existing(Path.Combine(fromEnvironment, "data", relative));
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")))
            {
                return Existing(Path.Combine(dir.Parent!.FullName, "shared", "data", relative));
            }
        }

        throw new DirectoryNotFoundException("LlmAdapt.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Existing(string path) => File.Exists(path) ? path : throw new FileNotFoundException($"Shared test data missing: {path}", path);
}
