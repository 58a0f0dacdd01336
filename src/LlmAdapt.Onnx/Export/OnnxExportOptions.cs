using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Onnx.Export;

/// <summary>Settings of <see cref="OnnxDecoderExporter.ExportAsync"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>The default size above which weights go to <c>model.onnx.data</c>: protobuf caps one message at 2 GiB.</summary>
    public const long DefaultExternalDataThresholdBytes = 1L << 30;

    /// <summary>
    /// Gets or sets a PEFT LoRA adapter folder (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>) whose
    /// update W + (alpha / r)·(B·A) is merged into the exported weights; <see langword="null"/> exports the checkpoint as is.
    /// </summary>
    public string? AdapterDirectory { get; set; }

    /// <summary>
    /// Gets or sets the weight size, in bytes, above which the weights are written to <c>model.onnx.data</c> beside
    /// <c>model.onnx</c> (ONNX external data) instead of inside it.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long ExternalDataThresholdBytes { get; set; } = DefaultExternalDataThresholdBytes;

    /// <summary>Gets or sets whether an existing, non-empty output folder is replaced; when <see langword="false"/> it is an error.</summary>
    public bool Overwrite { get; set; }

    /// <summary>
    /// Gets or sets a folder to copy tokenizer files from (<c>tokenizer.json</c>, <c>tokenizer_config.json</c>, …)
    /// when the checkpoint folder has none; <see langword="null"/> copies only the checkpoint's own.
    /// </summary>
    public string? TokenizerDirectory { get; set; }
}
