using System.Text.Json;

namespace LlmAdapt.Cli.Tests.Generation;

public sealed class GenerateCommandTests
{
    private static readonly Lazy<string> s_models = new(() => TestData.ModelPath("onnxruntime-genai"));

    private static string Gpt2 => Path.Combine(s_models.Value, "tiny-random-gpt2-fp32");

    // Text prompts run on the Llama fixture: the GPT-2 one scores only ids below 1,000, which few words tokenize to.
    private static string Llama => Path.Combine(s_models.Value, "tiny-random-LlamaForCausalLM-fp16");

    private static async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Generate_PromptIds_Json_PrintsTheReferenceIdsAndThroughput()
    {
        var (code, output, error) = await RunAsync("generate", "--model", Gpt2, "--prompt-ids", "0,0,195,731", "--max-new-tokens", "6", "--greedy", "--json");

        Assert.Equal(0, code);
        Assert.Contains("6 tokens in", error, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
        var root = json.RootElement;
        Assert.Equal([731, 114, 114, 114, 114, 114], root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(4, root.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal("MaxNewTokens", root.GetProperty("finish_reason").GetString());
        Assert.True(root.GetProperty("tokens_per_second").GetDouble() > 0);
        Assert.Equal(JsonValueKind.String, root.GetProperty("text").ValueKind);
    }

    [Fact]
    public async Task Generate_SampledWithSeed_IsRepeatable()
    {
        string[] args = ["generate", "--model", Llama, "--prompt", "Once upon a time", "--max-new-tokens", "12", "--temperature", "0.9", "--top-p", "0.9", "--seed", "4"];

        var first = await RunAsync(args);
        var second = await RunAsync(args);

        Assert.Equal(0, first.Code);
        Assert.Equal(first.Out, second.Out);
        Assert.False(string.IsNullOrWhiteSpace(first.Out));
    }

    [Theory]
    [InlineData("--prompt", "hi", "--prompt-ids", "1,2")]
    [InlineData("--prompt-ids", "1,x")]
    [InlineData("--prompt-ids", "1,2", "--greedy", "--temperature", "0.5")]
    [InlineData("--prompt-ids", "1,2", "--top-p", "0.5")]
    public async Task Generate_ContradictoryOrBadOptions_ExitWithUsageError(params string[] options)
    {
        var (code, _, error) = await RunAsync(["generate", "--model", Gpt2, .. options]);

        Assert.Equal(2, code);
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_IdOutsideVocabulary_FailsWithOneLine()
    {
        var (code, _, error) = await RunAsync("generate", "--model", Gpt2, "--prompt-ids", "5,1000");

        Assert.Equal(1, code);
        Assert.Contains("id 1000 is outside the vocabulary of 1000 ids", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Generate_EngineCheckpoint_IsSampledByTheTrainingEngine()
    {
        var folder = Path.Combine(Path.GetTempPath(), "llmadapt-gen-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var data = Path.Combine(folder, "corpus.txt");
            await File.WriteAllTextAsync(data, string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 40)));
            var checkpoint = Path.Combine(folder, "ckpt");
            var pretrain = await RunAsync("pretrain", "--data", data, "--out", checkpoint, "--steps", "2", "--layers", "1", "--heads", "1", "--dim", "8", "--context", "16", "--batch", "2", "--eval-every", "1000", "--checkpoint-every", "1000", "--threads", "1");
            Assert.True(pretrain.Code == 0, pretrain.Error);

            var (code, output, error) = await RunAsync("generate", "--model", checkpoint, "--prompt", "the cat", "--tokens", "4", "--temperature", "0");

            Assert.True(code == 0, error);
            Assert.StartsWith("the cat", output, StringComparison.Ordinal);
            Assert.Contains("training engine", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
