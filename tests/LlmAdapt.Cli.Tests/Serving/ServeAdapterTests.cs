using System.ClientModel;
using LlmAdapt.Cli.Tests.Prompting;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Export;
using Microsoft.Extensions.AI;
using OpenAI;

namespace LlmAdapt.Cli.Tests.Serving;

/// <summary>
/// <c>llmadapt serve --adapter</c> end to end: a tiny Llama exported with its LoRA kept separate, two adapters over it
/// (the fixture's "sft" and a second of another rank and projections), served on loopback with continuous batching and
/// called through OpenAI's .NET SDK by model name (<c>tiny</c>, <c>tiny:sft</c>, <c>tiny:second</c>).
/// </summary>
public sealed class ServeAdapterTests(LlamaExportFixture fixture) : IClassFixture<LlamaExportFixture>
{
    [Fact]
    public async Task Serve_WithTwoAdapters_AnswersEachModelName_AsTheInProcessAdapter_AlternatingAndConcurrent()
    {
        var dir = TinyGpt2.NewDirectory("serve-adapters");
        try
        {
            var (secondFile, _) = await fixture.ExportSecondAdapterAsync(dir);
            var sftFile = fixture.SeparateResult!.AdapterPath!;

            // The answers each served name must give: the unbatched model in process, with the same adapter files.
            const string Prompt = "Name a colour.";
            using var model = OnnxDecoderModel.Load(fixture.ExportedSeparate);
            model.LoadAdapter("sft", sftFile);
            model.LoadAdapter("second", secondFile);
            using var local = new OnnxChatClient(model, new OnnxChatClientOptions { Template = ChatTemplate.Plain, DefaultMaxOutputTokens = 12, ModelId = "tiny" });
            var expected = new Dictionary<string, string?>();
            foreach (var name in new[] { "tiny", "tiny:sft", "tiny:second" })
            {
                expected[name] = (await local.GetResponseAsync(Prompt, new ChatOptions { ModelId = name, MaxOutputTokens = 12 })).Text;
            }

            Assert.Equal(3, expected.Values.Distinct().Count());

            var url = $"http://127.0.0.1:{FakeOpenAiServer.FreePort()}";
            using var error = new ServeCommandTests.SignalingWriter("Listening on");
            using var stop = new CancellationTokenSource();
            var run = CliApp.RunAsync(
                ["serve", "--model", fixture.ExportedSeparate, "--name", "tiny", "--template", "Plain", "--adapter", $"sft={sftFile}", "--adapter", $"second={secondFile}", "--urls", url, "--max-batch", "4", "--default-tokens", "12"],
                new StringWriter(),
                error,
                stop.Token);
            Assert.Same(error.Seen, await Task.WhenAny(error.Seen, run));
            var client = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(url + "/v1") });
            async Task<string?> AskAsync(string name)
            {
                using var chat = client.GetChatClient(name).AsIChatClient();
                return (await chat.GetResponseAsync(Prompt, new ChatOptions { MaxOutputTokens = 12, Temperature = 0 })).Text;
            }

            // Alternating A, B, none, then all at once (four of each), then the list of models.
            string[] order = ["tiny:sft", "tiny:second", "tiny", "tiny:sft", "tiny", "tiny:second"];
            var alternating = new List<string?>();
            foreach (var name in order)
            {
                alternating.Add(await AskAsync(name));
            }

            var concurrent = Enumerable.Range(0, 12).Select(i => order[i % 3]).ToArray();
            var answers = await Task.WhenAll(concurrent.Select(AskAsync));
            var models = (await client.GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).Order().ToList();
            stop.Cancel();
            Assert.Equal(0, await run);

            for (var i = 0; i < order.Length; i++)
            {
                Assert.Equal(expected[order[i]], alternating[i]);
            }

            for (var i = 0; i < concurrent.Length; i++)
            {
                Assert.Equal(expected[concurrent[i]], answers[i]);
            }

            Assert.Equal(["tiny", "tiny:second", "tiny:sft"], models);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
