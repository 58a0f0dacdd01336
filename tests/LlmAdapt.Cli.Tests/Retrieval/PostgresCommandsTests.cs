using System.Text.Json;
using LlmAdapt.PostgreSql.Tests;

namespace LlmAdapt.Cli.Tests.Retrieval;

public sealed class PostgresCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-cli-pg-").FullName;

    public PostgresCommandsTests()
    {
        // Two small documents of their own (the file-index tests use others).
        var docs = Directory.CreateDirectory(Path.Combine(_dir, "docs")).FullName;
        File.WriteAllText(Path.Combine(docs, "expenses.md"), "# Expenses\n\nClaim travel within thirty days.\n\n## Hotels\n\nBook hotels through the travel desk.\n");
        File.WriteAllText(Path.Combine(docs, "holidays.txt"), "Staff receive twenty-five days of paid leave every year; unused days lapse in March.");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task IndexBuildThenAsk_ThroughPostgres_NeverPrintsTheConnectionString()
    {
        await using var server = await PgliteServer.StartAsync();
        var docs = Path.Combine(_dir, "docs");
        var (code, output, error) = await CliRunner.RunAsync("index", "build", "--docs", docs, "--postgres", server.ConnectionString, "--table", "cli_docs", "--embeddings", "none", "--allow", "staff", "--json");
        Assert.True(code == 0, error);
        Assert.Contains("PostgreSQL table cli_docs", output, StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.Equal(2, json.RootElement.GetProperty("files").GetInt32());
        }

        // Bare --postgres reads LLMADAPT_POSTGRES.
        Environment.SetEnvironmentVariable("LLMADAPT_POSTGRES", server.ConnectionString);
        try
        {
            (code, output, error) = await CliRunner.RunAsync("ask", "How many holiday days do employees get?", "--postgres", "--table", "cli_docs", "--embeddings", "none", "--principal", "ann", "--group", "staff", "--k", "1");
            Assert.True(code == 0, error);
            Assert.StartsWith("[1] holidays.txt", output, StringComparison.Ordinal);
            (code, output, _) = await CliRunner.RunAsync("ask", "How many holiday days do employees get?", "--postgres", "--table", "cli_docs", "--embeddings", "none", "--principal", "eve", "--k", "1");
            Assert.Equal(0, code);
            Assert.Contains("No passage found", output, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("LLMADAPT_POSTGRES", null);
        }

        server.Kill();
        (code, output, error) = await CliRunner.RunAsync("ask", "holiday", "--postgres", server.ConnectionString + ";Timeout=2", "--table", "cli_docs", "--embeddings", "none");
        Assert.Equal(1, code);
        Assert.Contains("could not be reached", error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-password", output + error, StringComparison.Ordinal);
    }
}
