using System.ClientModel;
using LlmAdapt.Cli.Tests.Prompting;
using LlmAdapt.Onnx.Generation;
using Microsoft.Extensions.AI;
using OpenAI;

namespace LlmAdapt.Cli.Tests.Serving;

public sealed class ServeCommandTests
{
    private static string Llama => Path.Combine(TestData.PathOf(".."), "models", "onnxruntime-genai", "tiny-random-LlamaForCausalLM-fp16");

    [Fact]
    public async Task Serve_AnswersOpenAIClients_AsTheModelDoesInProcess_UntilCancelled()
    {
        const string KeyVariable = "LLMADAPT_TEST_SERVE_KEY";
        const string Key = "sk-serve-test-key-42";
        Environment.SetEnvironmentVariable(KeyVariable, Key);
        var url = $"http://127.0.0.1:{FakeOpenAiServer.FreePort()}";
        using var output = new StringWriter();
        using var error = new SignalingWriter("Listening on");
        using var stop = new CancellationTokenSource();

        var run = CliApp.RunAsync(
            ["serve", "--model", Llama, "--name", "tiny-llama", "--template", "Plain", "--embeddings", "minilm", "--urls", url, "--api-key-env", KeyVariable, "--max-concurrency", "2", "--default-tokens", "8"],
            output,
            error,
            stop.Token);
        Assert.Same(error.Seen, await Task.WhenAny(error.Seen, run));

        var client = new OpenAIClient(new ApiKeyCredential(Key), new OpenAIClientOptions { Endpoint = new Uri(url + "/v1") });
        using var chat = client.GetChatClient("tiny-llama").AsIChatClient();
        using var embeddings = client.GetEmbeddingClient("all-MiniLM-L6-v2").AsIEmbeddingGenerator();
        var served = await chat.GetResponseAsync("Name a colour.");
        var vector = (await embeddings.GenerateAsync(["a served sentence"]))[0];
        var models = (await client.GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).Order().ToList();
        stop.Cancel();
        var code = await run;

        using var model = OnnxDecoderModel.Load(Llama);
        using var local = new OnnxChatClient(model, new OnnxChatClientOptions { Template = ChatTemplate.Plain, DefaultMaxOutputTokens = 8 });
        var expected = await local.GetResponseAsync("Name a colour.");
        Assert.Equal(expected.Text, served.Text);
        Assert.Equal(expected.Usage!.OutputTokenCount, served.Usage!.OutputTokenCount);
        Assert.Equal(384, vector.Vector.Length);
        Assert.Equal(["all-MiniLM-L6-v2", "tiny-llama"], models);
        Assert.Equal(0, code);
        Assert.Contains("API key required", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Key, error.ToString() + output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--urls", "http://127.0.0.1:70000")]
    [InlineData("--urls", "ftp://127.0.0.1:21")]
    [InlineData("--max-concurrency", "0")]
    [InlineData("--max-batch", "2000")]
    [InlineData("--max-tokens", "0")]
    [InlineData("--api-key-env", "LLMADAPT_TEST_SERVE_UNSET_VARIABLE")]
    [InlineData("--embeddings", "/no/such/encoder")]
    public async Task Serve_InvalidOption_FailsAtStartUp_NamingIt(string option, string value)
    {
        string[] args = option == "--urls" ? ["serve", "--model", Llama, option, value] : ["serve", "--model", Llama, option, value, "--urls", "http://127.0.0.1:0"];
        var (code, _, error) = await CliRunner.RunAsync(args);

        Assert.Equal(2, code);
        Assert.Contains($"error: {option}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_AdapterForAModelWithoutLoraInputs_FailsAtStartUp_NamingTheOption()
    {
        var (code, _, error) = await CliRunner.RunAsync("serve", "--model", Llama, "--adapter", "sql=/no/such/sql.onnx_adapter", "--urls", "http://127.0.0.1:0");
        var (badSyntax, _, syntaxError) = await CliRunner.RunAsync("serve", "--model", Llama, "--adapter", "sql");

        Assert.Equal(2, code);
        Assert.Contains("error: --adapter sql=/no/such/sql.onnx_adapter:", error, StringComparison.Ordinal);
        Assert.Contains("--keep-lora-separate", error, StringComparison.Ordinal);
        Assert.Equal(2, badSyntax);
        Assert.Contains("--adapter: 'sql' is not NAME=FILE", syntaxError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_MissingModelFolder_FailsNamingModel()
    {
        var (code, _, error) = await CliRunner.RunAsync("serve", "--model", "/no/such/model");

        Assert.Equal(2, code);
        Assert.Contains("--model: the folder", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_CheckpointFolder_FailsSayingExportFirst()
    {
        var folder = Directory.CreateTempSubdirectory("llmadapt-serve-checkpoint-");
        try
        {
            File.WriteAllBytes(Path.Combine(folder.FullName, "model.safetensors"), []);
            var (code, _, error) = await CliRunner.RunAsync("serve", "--model", folder.FullName, "--urls", "http://127.0.0.1:0");

            Assert.Equal(2, code);
            Assert.Contains("export onnx", error, StringComparison.Ordinal);
            Assert.Contains(folder.FullName, error, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Standard error that completes <see cref="Seen"/> once <c>text</c> has been written.</summary>
    internal sealed class SignalingWriter(string text) : StringWriter
    {
        private readonly TaskCompletionSource _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Seen => _seen.Task;

        public override void Write(string? value)
        {
            base.Write(value);
            Check();
        }

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            Check();
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }

        private void Check()
        {
            if (ToString().Contains(text, StringComparison.Ordinal))
            {
                _seen.TrySetResult();
            }
        }
    }
}
