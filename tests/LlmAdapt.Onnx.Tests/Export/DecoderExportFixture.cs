using LlmAdapt.Onnx.Export;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// What the GPT-2 and Llama export fixtures share: a checkpoint with a LoRA adapter beside it (written by the subclass),
/// exported once without the adapter, once with it merged and once with it kept as separate LoRA inputs; the folder is
/// deleted afterwards.
/// </summary>
public abstract class DecoderExportFixture(string name) : IAsyncLifetime
{
    public string Root { get; } = TinyGpt2.NewDirectory(name);

    public string Checkpoint => Path.Combine(Root, "checkpoint");

    public string Adapter => Path.Combine(Root, "adapter");

    public string Exported => Path.Combine(Root, "onnx");

    public string ExportedLora => Path.Combine(Root, "onnx-lora");

    public string ExportedSeparate => Path.Combine(Root, "onnx-lora-separate");

    public OnnxExportResult? Result { get; private set; }

    public OnnxExportResult? LoraResult { get; private set; }

    public OnnxExportResult? SeparateResult { get; private set; }

    /// <summary>Gets the options of the separate-LoRA export.</summary>
    protected virtual OnnxExportOptions SeparateOptions => new() { AdapterDirectory = Adapter, KeepLoraSeparate = true };

    public async Task InitializeAsync()
    {
        await WriteCheckpointAndAdapterAsync();
        Result = await OnnxDecoderExporter.ExportAsync(Checkpoint, Exported, null, CancellationToken.None);
        LoraResult = await OnnxDecoderExporter.ExportAsync(Checkpoint, ExportedLora, new OnnxExportOptions { AdapterDirectory = Adapter }, CancellationToken.None);
        SeparateResult = await OnnxDecoderExporter.ExportAsync(Checkpoint, ExportedSeparate, SeparateOptions, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Writes the base checkpoint to <see cref="Checkpoint"/> and a LoRA adapter for it to <see cref="Adapter"/>.</summary>
    protected abstract Task WriteCheckpointAndAdapterAsync();
}
