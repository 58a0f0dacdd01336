using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Tests.Generation;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// One small Llama (4 query heads sharing 2 key/value heads, untied head) with the Llama tokenizer of the shared
/// ONNX Runtime GenAI fixture (32,000 ids) beside its checkpoint, a LoRA adapter on all seven projections, and the
/// checkpoint exported without the adapter, with it merged, and with it kept as separate LoRA inputs.
/// </summary>
public sealed class LlamaExportFixture : IAsyncLifetime
{
    public const int Vocab = 32000;
    public const int Context = 64;
    public const int Layers = 2;
    public const int Heads = 4;
    public const int KvHeads = 2;
    public const int Channels = 32;
    public const int Intermediate = 64;
    public const double LoraAlpha = 8;

    /// <summary>The tokenizer files the shared Llama fixture carries, copied into the checkpoint.</summary>
    public static readonly string[] TokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    internal TinyLlama Model { get; } = new(Vocab, Context, Layers, Heads, KvHeads, Channels, Intermediate, seed: 17, ropeTheta: 10000);

    public string Root { get; } = TinyGpt2.NewDirectory("llama");

    public string Checkpoint => Path.Combine(Root, "checkpoint");

    public string Adapter => Path.Combine(Root, "adapter");

    public string Exported => Path.Combine(Root, "onnx");

    public string ExportedLora => Path.Combine(Root, "onnx-lora");

    public string ExportedSeparate => Path.Combine(Root, "onnx-lora-separate");

    public OnnxExportResult? Result { get; private set; }

    public OnnxExportResult? LoraResult { get; private set; }

    public OnnxExportResult? SeparateResult { get; private set; }

    public async Task InitializeAsync()
    {
        await Model.SaveAsync(Checkpoint);
        foreach (var file in TokenizerFiles)
        {
            File.Copy(Path.Combine(GenerationModels.LlamaDirectory, file), Path.Combine(Checkpoint, file));
        }

        Model.AddLora(rank: 4, LoraAlpha, seed: 9, TinyLlama.AllSites);
        await Model.SaveAdapterAsync(Adapter, Checkpoint, LoraAlpha);
        Result = await OnnxDecoderExporter.ExportAsync(Checkpoint, Exported, null, CancellationToken.None);
        LoraResult = await OnnxDecoderExporter.ExportAsync(Checkpoint, ExportedLora, new OnnxExportOptions { AdapterDirectory = Adapter }, CancellationToken.None);
        SeparateResult = await OnnxDecoderExporter.ExportAsync(Checkpoint, ExportedSeparate, new OnnxExportOptions { AdapterDirectory = Adapter, KeepLoraSeparate = true }, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}
