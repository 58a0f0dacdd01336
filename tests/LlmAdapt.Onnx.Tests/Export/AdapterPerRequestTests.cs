using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Generation;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// LoRA adapters chosen per call on one separate-LoRA Llama export: adapter "sft" (the fixture's, also merged into
/// its own export), adapter "second" (another rank and projections over the same base), and none.
/// </summary>
public sealed class AdapterPerRequestTests(LlamaExportFixture fixture) : IClassFixture<LlamaExportFixture>
{
    private static readonly int[] s_prompt = [1, 15043, 3186, 29892];

    [Fact]
    public async Task Adapters_PerCall_EqualTheMergedExport_AndNeverMix_AlternatingOrConcurrent()
    {
        var dir = TinyGpt2.NewDirectory("adapters-per-request");
        try
        {
            var options = new GenerationOptions { MaxNewTokens = 16 };
            using var merged = OnnxDecoderModel.Load(fixture.ExportedLora);
            using var plain = OnnxDecoderModel.Load(fixture.Exported);
            var expectedSft = merged.Generate(s_prompt, options).TokenIds;
            var expectedBase = plain.Generate(s_prompt, options).TokenIds;

            var (secondFile, _) = await fixture.ExportSecondAdapterAsync(dir);

            using var model = OnnxDecoderModel.Load(fixture.ExportedSeparate);
            model.LoadAdapter("sft", fixture.SeparateResult!.AdapterPath!);
            model.LoadAdapter("second", secondFile);
            IReadOnlyList<int> Run(string? adapter) => model.Generate(s_prompt, new GenerationOptions { MaxNewTokens = 16, Adapter = adapter }).TokenIds;

            var expectedSecond = Run("second");
            Assert.Equal(expectedSft, Run("sft"));
            Assert.Equal(expectedBase, Run(null));
            Assert.NotEqual(expectedBase, expectedSft);
            Assert.NotEqual(expectedBase, expectedSecond);
            Assert.NotEqual(expectedSft, expectedSecond);
            var expected = new Dictionary<string, IReadOnlyList<int>> { ["sft"] = expectedSft, ["second"] = expectedSecond, ["none"] = expectedBase };

            // Alternating: sft, second, none, sft, ...
            string[] order = ["sft", "second", "none", "sft", "none", "second"];
            Assert.All(order, name => Assert.Equal(expected[name], Run(name == "none" ? null : name)));

            // Concurrent: 12 calls, four per adapter, all at once on the one model.
            var calls = Enumerable.Range(0, 12).Select(i => order[i % 3]).ToArray();
            var results = await Task.WhenAll(calls.Select(name => Task.Run(() => Run(name == "none" ? null : name))));
            for (var i = 0; i < calls.Length; i++)
            {
                Assert.Equal(expected[calls[i]], results[i]);
            }

            // Through the chat client: "model:adapter" picks the adapter, a plain model id the base.
            using var client = new OnnxChatClient(model, new OnnxChatClientOptions { Formatter = _ => "x", ModelId = "tiny" });
            var viaSft = await client.GetResponseAsync("x", new ChatOptions { ModelId = "tiny:sft", MaxOutputTokens = 16 });
            var viaBase = await client.GetResponseAsync("x", new ChatOptions { ModelId = "tiny", MaxOutputTokens = 16 });
            var sftText = model.Generate(model.Encode("x"), new GenerationOptions { MaxNewTokens = 16, Adapter = "sft" }).Text;
            Assert.Equal(sftText, viaSft.Text);
            Assert.Equal(model.Generate(model.Encode("x"), new GenerationOptions { MaxNewTokens = 16 }).Text, viaBase.Text);
            var unknown = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync("x", new ChatOptions { ModelId = "tiny:sql" }));
            Assert.Contains("loaded: second, sft", unknown.Message, StringComparison.Ordinal);

            // Continuous batching: the same 12 calls, all queued before the loop's first round, share steps per adapter
            // (one running batch per adapter, never one step across two) and each still gets its own ids.
            using var batched = OnnxDecoderModel.Load(fixture.ExportedSeparate, new OnnxDecoderModelOptions { MaxBatchSize = 4 });
            batched.LoadAdapter("sft", fixture.SeparateResult!.AdapterPath!);
            batched.LoadAdapter("second", secondFile);
            var queued = new Task<GenerationResult>[calls.Length];
            batched.Batcher!.BeforeRound = round =>
            {
                if (round == 0)
                {
                    for (var i = 1; i < calls.Length; i++)
                    {
                        queued[i] = batched.GenerateAsync(s_prompt, new GenerationOptions { MaxNewTokens = 16, Adapter = calls[i] == "none" ? null : calls[i] });
                    }
                }
            };
            queued[0] = batched.GenerateAsync(s_prompt, new GenerationOptions { MaxNewTokens = 16, Adapter = calls[0] == "none" ? null : calls[0] });
            await queued[0];
            var batchedResults = await Task.WhenAll(queued);
            for (var i = 0; i < calls.Length; i++)
            {
                Assert.Equal(expected[calls[i]], batchedResults[i].TokenIds);
            }

            var stats = batched.BatchingStatistics!;
            Assert.Equal(12, stats.Completed);
            Assert.Equal(0, stats.ActiveSequences);
            // Each adapter's four calls decode together: 15 steps after the prompt per adapter, 3 adapters (one at a time
            // calls 12 × 15 = 180; a step shared across two adapters would make it fewer than 45).
            Assert.Equal(3 * 15, stats.Steps);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void LoadAdapter_OnAModelWithoutLoraInputs_FailsNamingTheFix()
    {
        using var plain = OnnxDecoderModel.Load(fixture.Exported);

        var ex = Assert.Throws<ModelLoadException>(() => plain.LoadAdapter("sft", fixture.SeparateResult!.AdapterPath!));

        Assert.Contains("--keep-lora-separate", ex.Message, StringComparison.Ordinal);
    }
}
