namespace LlmAdapt.Cli.Tests;

/// <summary>Runs the tool in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static async Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    public static string SharedData(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")))
            {
                var env = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
                var shared = !string.IsNullOrEmpty(env) ? env : Path.Combine(dir.Parent!.FullName, "shared");
                return Path.Combine(shared, "data", relative);
            }
        }

        throw new DirectoryNotFoundException("LlmAdapt.sln not found");
    }
}
