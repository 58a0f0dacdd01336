using LlmAdapt.Onnx.Export;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// One small GPT-2 with GPT-2's vocabulary (so the engine's public evaluator and sampler, which tokenize with GPT-2's
/// tokenizer, can run on it), saved as a checkpoint with a LoRA adapter beside it, and exported once with and once
/// without the adapter merged, and once with it kept as separate LoRA inputs (weights in external data).
/// </summary>
public sealed class ExportFixture : IAsyncLifetime
{
    public const int Vocab = 50257;
    public const int Context = 32;
    public const int Layers = 2;
    public const int Heads = 4;
    public const int Channels = 32;
    public const double LoraAlpha = 8;

    internal TinyGpt2 Model { get; } = new(Vocab, Context, Layers, Heads, Channels, seed: 11);

    public string Root { get; } = TinyGpt2.NewDirectory("fixture");

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
        Model.AddLora(rank: 4, LoraAlpha, seed: 5, "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj");
        await Model.SaveAdapterAsync(Adapter, Checkpoint, LoraAlpha);
        Result = await OnnxDecoderExporter.ExportAsync(Checkpoint, Exported, null, CancellationToken.None);
        LoraResult = await OnnxDecoderExporter.ExportAsync(Checkpoint, ExportedLora, new OnnxExportOptions { AdapterDirectory = Adapter }, CancellationToken.None);
        SeparateResult = await OnnxDecoderExporter.ExportAsync(Checkpoint, ExportedSeparate, new OnnxExportOptions { AdapterDirectory = Adapter, KeepLoraSeparate = true, ExternalDataThresholdBytes = 0 }, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}
