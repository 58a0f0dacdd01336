using System.CommandLine;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Cli.Tests;

public sealed class ShellTests
{
    [Fact]
    public async Task EveryVerb_HasHelp_AndExitsZero()
    {
        var root = CliApp.BuildRoot(new CliContext(TextWriter.Null, TextWriter.Null));
        var paths = new List<string[]>();
        void Walk(Command command, string[] path)
        {
            paths.Add(path);
            foreach (var sub in command.Subcommands)
            {
                Walk(sub, [.. path, sub.Name]);
            }
        }

        Walk(root, []);
        Assert.True(paths.Count >= 3);
        foreach (var path in paths)
        {
            var (code, output, _) = await CliRunner.RunAsync([.. path, "--help"]);
            Assert.True(code == 0, $"'{string.Join(' ', path)} --help' exited {code}");
            Assert.Contains("Usage", output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Help_UsageLineNamesTheTool_WhateverTheExecutableIsCalled()
    {
        // In-process the executable is the test host; the usage line still reads llmadapt.
        var (code, output, _) = await CliRunner.RunAsync("--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:" + Environment.NewLine + "  llmadapt [command] [options]", output, StringComparison.Ordinal);

        (code, output, _) = await CliRunner.RunAsync("tokens", "count", "--help");
        Assert.Equal(0, code);
        Assert.Contains("  llmadapt tokens count", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokensCount_PrintsTheTokenizersCount_AndJsonOnTheLastLine()
    {
        var file = TestData.PathOf("corpus/tinyshakespeare/input.txt");
        var expected = TiktokenTokenizer.CreateForModel("gpt-4o").CountTokens(await File.ReadAllTextAsync(file));

        var (code, output, error) = await CliRunner.RunAsync("tokens", "count", "--model", "gpt-4o", file, "--json");

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        var last = output.TrimEnd().Split('\n')[^1];
        using var json = JsonDocument.Parse(last);
        Assert.Equal(expected, json.RootElement.GetProperty("total_tokens").GetInt32());
        Assert.Contains(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingFile_IsOneLineError_ExitOne()
    {
        var (code, output, error) = await CliRunner.RunAsync("tokens", "count", "/no/such/file.txt");
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, output);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains("/no/such/file.txt", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verbose_AddsTheStackTrace()
    {
        var (code, _, error) = await CliRunner.RunAsync("tokens", "count", "--model", "nope-model", TestData.PathOf("corpus/tinyshakespeare/input.txt"), "--verbose");
        Assert.Equal(1, code);
        Assert.Contains("nope-model", error, StringComparison.Ordinal);
        Assert.Contains("   at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tokens", "count", "--bogus", "x.txt")]
    [InlineData("tokens", "count")]
    [InlineData("no-such-verb")]
    public async Task BadUsage_ExitsTwo(params string[] args)
    {
        var (code, _, error) = await CliRunner.RunAsync(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
    }
}
