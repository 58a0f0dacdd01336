using LlmAdapt.Onnx.Export;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// One small GPT-2 with GPT-2's vocabulary (so the engine's public evaluator and sampler, which tokenize with GPT-2's
/// tokenizer, can run on it), saved as a checkpoint with a LoRA adapter beside it, and exported once with and once
/// without the adapter merged, and once with it kept as separate LoRA inputs (weights in external data).
/// </summary>
public sealed class ExportFixture() : DecoderExportFixture("fixture")
{
    public const int Vocab = 50257;
    public const int Context = 32;
    public const int Layers = 2;
    public const int Heads = 4;
    public const int Channels = 32;
    public const double LoraAlpha = 8;

    internal TinyGpt2 Model { get; } = new(Vocab, Context, Layers, Heads, Channels, seed: 11);

    protected override OnnxExportOptions SeparateOptions => new() { AdapterDirectory = Adapter, KeepLoraSeparate = true, ExternalDataThresholdBytes = 0 };

    protected override async Task WriteCheckpointAndAdapterAsync()
    {
        await Model.SaveAsync(Checkpoint);
        Model.AddLora(rank: 4, LoraAlpha, seed: 5, "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj");
        await Model.SaveAdapterAsync(Adapter, Checkpoint, LoraAlpha);
    }
}
