using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;
using static LlmAdapt.Onnx.Tests.Export.LogitChecks;
using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// The Llama checkpoint exported with its LoRA adapter kept as graph inputs plus <c>adapter.onnx_adapter</c>: without
/// the adapter active the graph is the base model; with it (ONNX Runtime's <c>OrtLoraAdapter</c>, ONNX Runtime GenAI's
/// <c>Adapters</c>) it is the adapted model, as the float64 forward and the merged export say.
/// </summary>
public sealed class SeparateLoraTests(LlamaExportFixture fixture, ITestOutputHelper output) : IClassFixture<LlamaExportFixture>
{
    private const int V = LlamaExportFixture.Vocab;

    [Fact]
    public void Export_WritesTheAdapterFile_AndMergesNothing()
    {
        var result = fixture.SeparateResult!;
        Assert.Equal(0, result.MergedLoraModules);
        Assert.Equal(7 * LlamaExportFixture.Layers, result.SeparateLoraModules);
        Assert.Equal(Path.Combine(fixture.ExportedSeparate, OnnxDecoderExporter.AdapterFileName), result.AdapterPath);
        Assert.True(File.Exists(result.AdapterPath));
        Assert.Null(fixture.LoraResult!.AdapterPath);
    }

    [Fact]
    public void WithoutTheAdapter_LogitsEqualTheBaseForward_WithIt_TheUnmergedLoraForward()
    {
        var tokens = RandomTokens(new Random(5), 20, V);
        using var session = Session(fixture.ExportedSeparate);
        var (baseLogits, _, _) = session.Step(Longs(tokens), Positions(tokens.Length), Ones(tokens.Length), 1, null, 0);
        var baseMax = MaxAbsDiff(fixture.Model.Forward(tokens, withLora: false), baseLogits);

        using var adapter = OrtLoraAdapter.Create(fixture.SeparateResult!.AdapterPath!, null);
        var expected = fixture.Model.Forward(tokens, withLora: true);
        var (logits, presents, total) = session.Step(Longs(tokens[..12]), Positions(12), Ones(12), 1, null, 0, adapter);
        var max = MaxAbsDiff(expected.AsSpan(0, 12 * V), logits);
        for (var i = 12; i < tokens.Length; i++)
        {
            (logits, presents, total) = session.Step([tokens[i]], [i], Ones(total + 1), 1, presents, total, adapter);
            max = Math.Max(max, MaxAbsDiff(expected.AsSpan(i * V, V), logits));
        }

        output.WriteLine($"LoRA kept separate: base (no adapter) max |Δlogit| = {baseMax:E2}; adapter active, prefix 12 + 8 cached steps, max |Δlogit| = {max:E2}");
        Assert.InRange(baseMax, 0, 1e-4);
        Assert.InRange(max, 0, 1e-4);
    }

    [Fact]
    public void OrtGenAI_WithTheAdapterActive_GreedyIdsEqualTheMergedExport_WithoutIt_TheBase()
    {
        const int newTokens = 16;
        int[] prompt = [1, 15043, 3186, 29892];
        using var merged = OnnxDecoderModel.Load(fixture.ExportedLora);
        using var plain = OnnxDecoderModel.Load(fixture.Exported);
        var expectedAdapted = merged.Generate(prompt, new GenerationOptions { MaxNewTokens = newTokens }).Sequence;
        var expectedBase = plain.Generate(prompt, new GenerationOptions { MaxNewTokens = newTokens }).Sequence;
        Assert.NotEqual(expectedBase, expectedAdapted);

        using var model = new OrtGenAI.Model(fixture.ExportedSeparate);
        using var adapters = new OrtGenAI.Adapters(model);
        adapters.LoadAdapter(fixture.SeparateResult!.AdapterPath!, "sft");
        Assert.Equal(expectedAdapted, OrtGenAIGreedy.Sequence(model, prompt, newTokens, adapters, "sft"));
        Assert.Equal(expectedBase, OrtGenAIGreedy.Sequence(model, prompt, newTokens));

        // The generation client feeds no adapter: it decodes the separate-LoRA folder as the base model.
        using var ours = OnnxDecoderModel.Load(fixture.ExportedSeparate);
        Assert.Equal(expectedBase, ours.Generate(prompt, new GenerationOptions { MaxNewTokens = newTokens }).Sequence);
    }

    [Fact]
    public async Task ASecondAdapter_OnFewerProjectionsAtAnotherRank_ServedByTheSameGraph()
    {
        var dir = TinyGpt2.NewDirectory("second-adapter");
        try
        {
            // The same base weights (same seed), another adapter: rank 2, alpha 3, only q_proj and down_proj.
            var second = new TinyLlama(LlamaExportFixture.Vocab, LlamaExportFixture.Context, LlamaExportFixture.Layers, LlamaExportFixture.Heads, LlamaExportFixture.KvHeads, LlamaExportFixture.Channels, LlamaExportFixture.Intermediate, seed: 17);
            second.AddLora(rank: 2, alpha: 3, seed: 99, ["self_attn.q_proj", "mlp.down_proj"]);
            var adapterFolder = await second.SaveAdapterAsync(Path.Combine(dir, "adapter"), fixture.Checkpoint, alpha: 3);
            var file = Path.Combine(dir, "second.onnx_adapter");
            var modules = await OnnxDecoderExporter.ExportAdapterAsync(adapterFolder, fixture.ExportedSeparate, file);
            Assert.Equal(2 * LlamaExportFixture.Layers, modules);

            var tokens = RandomTokens(new Random(6), 16, V);
            using var session = Session(fixture.ExportedSeparate);
            using var adapter = OrtLoraAdapter.Create(file, null);
            var (logits, _, _) = session.Step(Longs(tokens), Positions(16), Ones(16), 1, null, 0, adapter);
            var max = MaxAbsDiff(second.Forward(tokens, withLora: true), logits);
            output.WriteLine($"second adapter (rank 2, 2 of 7 projections): max |Δlogit| = {max:E2}; it moves logits by up to {MaxAbsDiff(second.Forward(tokens, withLora: false), logits):F2}");
            Assert.InRange(max, 0, 1e-4);

            // ONNX Runtime GenAI with both adapters loaded: the second one active, greedy ids follow its float64 forward.
            using var genai = new OrtGenAI.Model(fixture.ExportedSeparate);
            using var adapters = new OrtGenAI.Adapters(genai);
            adapters.LoadAdapter(fixture.SeparateResult!.AdapterPath!, "sft");
            adapters.LoadAdapter(file, "second");
            int[] prompt = [1, 450, 4996, 17354];
            var sequence = OrtGenAIGreedy.Sequence(genai, prompt, 10, adapters, "second");
            var reference = second.Forward(sequence, withLora: true);
            for (var i = prompt.Length; i < sequence.Length; i++)
            {
                var row = reference.AsSpan((i - 1) * V, V);
                Assert.Equal(row.IndexOf(row.ToArray().Max()), sequence[i]);
            }

            Assert.NotEqual(sequence, OrtGenAIGreedy.Sequence(genai, prompt, 10, adapters, "sft"));

            var ex = await Assert.ThrowsAsync<ModelLoadException>(() => OnnxDecoderExporter.ExportAdapterAsync(adapterFolder, fixture.Exported, Path.Combine(dir, "x.onnx_adapter")));
            Assert.Contains("no LoRA inputs", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static ExportedSession Session(string folder)
        => new(folder, LlamaExportFixture.Layers, LlamaExportFixture.KvHeads, LlamaExportFixture.Channels / LlamaExportFixture.Heads, V);
}
