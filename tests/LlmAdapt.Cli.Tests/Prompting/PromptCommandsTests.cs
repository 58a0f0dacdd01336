using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmAdapt.Cli.Tests.Prompting;

public sealed class PromptCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-prompt-").FullName;
    private readonly string _keyVariable = "LLMADAPT_TEST_KEY_" + Guid.NewGuid().ToString("N");

    public PromptCommandsTests() => Environment.SetEnvironmentVariable(_keyVariable, "sk-test-123");

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_keyVariable, null);
        Directory.Delete(_dir, recursive: true);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Run_Template_SendsTheRenderedMessages_AndPrintsTheAnswerOnStdout()
    {
        using var server = new FakeOpenAiServer(_ => "Bonjour le monde");
        var template = Write("t.liquid", "### system\nYou translate into {{ language }}.\n### user\n{{ task }}\n");

        var (code, output, error) = await CliRunner.RunAsync("prompt", "run", "--endpoint", server.BaseUrl, "--model", "test-model", "--api-key-env", _keyVariable,
            "--template", template, "--task", "Hello world", "--var", "language=French", "--json");

        Assert.Equal(0, code);
        var lines = output.TrimEnd().Split('\n');
        Assert.Equal("Bonjour le monde", lines[0]);
        using var json = JsonDocument.Parse(lines[^1]);
        Assert.Equal(1, json.RootElement.GetProperty("model_calls").GetInt32());
        Assert.Contains("1 model call", error, StringComparison.Ordinal);

        var request = Assert.Single(server.Requests);
        Assert.Equal("/v1/chat/completions", request.Path);
        Assert.Equal("Bearer sk-test-123", request.Authorization);
        Assert.Equal("test-model", request.Body["model"]!.GetValue<string>());
        var messages = request.Body["messages"]!.AsArray();
        Assert.Equal("system", messages[0]!["role"]!.GetValue<string>());
        Assert.Contains("You translate into French.", messages[0]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("Hello world", FakeOpenAiServer.LastUserText(request.Body));
    }

    [Fact]
    public async Task Run_SelfConsistency_VotesOverSamples()
    {
        var count = 0;
        using var server = new FakeOpenAiServer(_ => Interlocked.Increment(ref count) % 3 == 0 ? "Answer: 11" : "Thinking...\nAnswer: 12");

        var (code, output, _) = await CliRunner.RunAsync("prompt", "run", "--endpoint", server.BaseUrl, "--model", "m", "--api-key-env", _keyVariable,
            "--strategy", "self-consistency", "--samples", "6", "--task", "What is 3 * 4?", "--json");

        Assert.Equal(0, code);
        Assert.Equal("12", output.Split('\n')[0].Trim());
        using var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
        Assert.Equal(4.0 / 6, json.RootElement.GetProperty("agreement").GetDouble(), 6);
        Assert.Equal(6, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal(0.7, r.Body["temperature"]!.GetValue<double>(), 3));
    }

    [Fact]
    public async Task Optimize_PrintsTheBestInstruction_WithProgressOnStderr()
    {
        var dev = Write("dev.jsonl", "{\"input\": \"2+2\", \"output\": \"4\"}\n\n{\"input\": \"3+5\", \"output\": \"8\"}\n");
        using var server = new FakeOpenAiServer(body =>
        {
            var messages = body["messages"]!.AsArray();
            var user = FakeOpenAiServer.LastUserText(body);
            if (user.StartsWith("Your job is", StringComparison.Ordinal))
            {
                return "<INS>Reply with the number only.</INS>";
            }

            var system = messages[0]!["role"]!.GetValue<string>() == "system" ? messages[0]!.ToJsonString() : string.Empty;
            var answer = user == "2+2" ? "4" : "8";
            return system.Contains("number only", StringComparison.Ordinal) ? answer : $"It is {answer}.";
        });

        var (code, output, error) = await CliRunner.RunAsync("prompt", "optimize", "--endpoint", server.BaseUrl, "--model", "m", "--api-key-env", _keyVariable,
            "--dev", dev, "--task-description", "add two numbers", "--seed-instruction", "Answer the question.", "--max-calls", "30", "--json");

        Assert.Equal(0, code);
        var lines = output.TrimEnd().Split('\n');
        Assert.Equal("Reply with the number only.", lines[0]);
        using var json = JsonDocument.Parse(lines[^1]);
        Assert.Equal(1.0, json.RootElement.GetProperty("best_score").GetDouble());
        Assert.Equal("TargetReached", json.RootElement.GetProperty("stop_reason").GetString());
        Assert.Contains("round  0  score 0.000", error, StringComparison.Ordinal);
        Assert.Contains("round  1  score 1.000", error, StringComparison.Ordinal);
        Assert.Equal(2, lines.Length);
    }

    [Fact]
    public async Task MissingApiKeyVariable_IsAUsageErrorThatNamesIt()
    {
        var (code, _, error) = await CliRunner.RunAsync("prompt", "run", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--api-key-env", "LLMADAPT_UNSET_" + Guid.NewGuid().ToString("N"), "--strategy", "step-by-step", "--task", "q");

        Assert.Equal(2, code);
        Assert.Contains("LLMADAPT_UNSET_", error, StringComparison.Ordinal);
        Assert.Contains("never taken from flags", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeyFlag_DoesNotExist()
    {
        var (code, _, error) = await CliRunner.RunAsync("prompt", "run", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--api-key", "sk-x", "--task", "q");

        Assert.Equal(2, code);
        Assert.Contains("--api-key", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--var", "novalue", "not name=value")]
    [InlineData("--var", "task=x", "--task")]
    [InlineData("--strategy", "tree-of-thought", "tree-of-thought")]
    [InlineData("--endpoint", "not-a-url", "not an absolute http(s) URL")]
    public async Task BadArguments_AreUsageErrors(string option, string value, string expected)
    {
        var template = Write("t.liquid", "{{ task }}");
        string[] args = ["prompt", "run", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--api-key-env", _keyVariable, "--template", template, "--task", "q"];
        var index = Array.IndexOf(args, option);
        args = index >= 0 ? [.. args[..(index + 1)], value, .. args[(index + 2)..]] : [.. args, option, value];

        var (code, _, error) = await CliRunner.RunAsync(args);

        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_MissingVariable_FailsWithItsNameBeforeAnyCall()
    {
        using var server = new FakeOpenAiServer(_ => "x");
        var template = Write("t.liquid", "Dear {{ customer }}, about {{ task }}");

        var (code, output, error) = await CliRunner.RunAsync("prompt", "run", "--endpoint", server.BaseUrl, "--model", "m", "--api-key-env", _keyVariable, "--template", template, "--task", "q");

        Assert.Equal(1, code);
        Assert.Contains("customer", error, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Optimize_MalformedDevFile_NamesTheFileAndLine()
    {
        var dev = Write("bad.jsonl", "{\"input\": \"a\", \"output\": \"b\"}\n{\"input\": \"c\"}\n");

        var (code, _, error) = await CliRunner.RunAsync("prompt", "optimize", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--api-key-env", _keyVariable, "--dev", dev, "--task-description", "t");

        Assert.Equal(1, code);
        Assert.Contains("bad.jsonl:2: missing \"output\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EndpointRejectingTheKey_IsAOneLineFailure()
    {
        using var server = new FakeOpenAiServer(_ => "x", HttpStatusCode.Unauthorized);

        var (code, output, error) = await CliRunner.RunAsync("prompt", "run", "--endpoint", server.BaseUrl, "--model", "m", "--api-key-env", _keyVariable, "--strategy", "step-by-step", "--task", "q");

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.StartsWith("error:", error.Split('\n').Last(l => l.Length > 0), StringComparison.Ordinal);
        Assert.Contains("401", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FewShot_SendsTheExamplesAsTurns_SemanticPicksTheNearest()
    {
        var pool = Write("pool.jsonl", string.Join('\n',
            "{\"input\": \"The soup was cold and the waiter rude.\", \"output\": \"negative\"}",
            "{\"input\": \"A thrilling film with a brilliant cast.\", \"output\": \"positive\"}",
            "{\"input\": \"My laptop battery died after a week.\", \"output\": \"negative\"}"));
        using var server = new FakeOpenAiServer(_ => "positive");

        var (fixedCode, _, _) = await CliRunner.RunAsync("prompt", "run", "--endpoint", server.BaseUrl, "--model", "m", "--api-key-env", _keyVariable,
            "--strategy", "few-shot", "--examples", pool, "--k", "2", "--instructions", "Label the sentiment.", "--task", "What a wonderful movie, great actors.");
        var (semanticCode, output, _) = await CliRunner.RunAsync("prompt", "run", "--endpoint", server.BaseUrl, "--model", "m", "--api-key-env", _keyVariable,
            "--strategy", "few-shot", "--examples", pool, "--select", "semantic", "--k", "1", "--task", "What a wonderful movie, great actors.");

        Assert.Equal(0, fixedCode);
        Assert.Equal(0, semanticCode);
        Assert.Equal("positive", output.Trim());
        var requests = server.Requests.ToArray();
        var fixedMessages = requests[0].Body["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()).ToArray();
        Assert.Equal(["system", "user", "assistant", "user", "assistant", "user"], fixedMessages);
        var semantic = requests[1].Body["messages"]!.AsArray();
        Assert.Equal(3, semantic.Count);
        Assert.Contains("A thrilling film with a brilliant cast.", semantic[0]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FewShot_WithoutExamples_IsAUsageError()
    {
        var (code, _, error) = await CliRunner.RunAsync("prompt", "run", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--api-key-env", _keyVariable, "--strategy", "few-shot", "--task", "q");

        Assert.Equal(2, code);
        Assert.Contains("--examples", error, StringComparison.Ordinal);
    }
}
