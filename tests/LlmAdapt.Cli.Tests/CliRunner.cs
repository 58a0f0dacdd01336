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

    /// <summary>
    /// Pre-trains a one-block GPT-2 with <c>pretrain</c> on the first 4,000 characters of tinyshakespeare (the sample
    /// the preference tests start from) into <paramref name="dir"/>/<paramref name="name"/>, and returns that folder.
    /// </summary>
    public static async Task<string> PretrainTinyAsync(string dir, string name = "model", int dim = 16, int context = 48, int steps = 1)
    {
        var text = Path.Combine(dir, "corpus.txt");
        await File.WriteAllTextAsync(text, (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..4000]);
        var model = Path.Combine(dir, name);
        var (code, _, error) = await RunAsync("pretrain", "--layers", "1", "--heads", "2", "--dim", $"{dim}", "--context", $"{context}", "--batch", "2", "--steps", $"{steps}", "--warmup", "1",
            "--eval-every", $"{steps}", "--eval-batches", "1", "--data", text, "--out", model);
        Assert.True(code == 0, error);
        return model;
    }
}
