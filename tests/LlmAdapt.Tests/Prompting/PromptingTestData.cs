namespace LlmAdapt.Tests.Prompting;

/// <summary>Finds ../shared/data beside the folder holding LlmAdapt.sln (or LLMADAPT_SHARED); a missing file fails loudly.</summary>
internal static class PromptingTestData
{
    public static string SharedRoot
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
            if (!string.IsNullOrEmpty(fromEnv))
            {
                return fromEnv;
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")))
                {
                    return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
                }
            }

            throw new DirectoryNotFoundException($"No LlmAdapt.sln above {AppContext.BaseDirectory}; set LLMADAPT_SHARED.");
        }
    }

    public static string PathOf(string relative)
    {
        var path = Path.Combine(SharedRoot, "data", relative);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Test data missing: {path}", path);
    }
}
