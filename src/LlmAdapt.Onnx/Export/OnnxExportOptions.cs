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
    /// Gets or sets whether the adapter of <see cref="AdapterDirectory"/> is kept out of the weights: each adapted
    /// projection gets graph inputs <c>{module}.lora_A.weight</c> [rank, in] and <c>{module}.lora_B.weight</c>
    /// [out, rank] (zero by default, so the graph alone is the base model), and the adapter is written beside it as
    /// ONNX Runtime's LoRA file <c>adapter.onnx_adapter</c> (B scaled by alpha / r), which ONNX Runtime
    /// (<c>OrtLoraAdapter</c> + <c>RunOptions.AddActiveLoraAdapter</c>) and ONNX Runtime GenAI
    /// (<c>Adapters.LoadAdapter</c> + <c>Generator.SetActiveAdapter</c>) feed to those inputs. When <see langword="false"/>
    /// (the default) the adapter is merged into the weights.
    /// </summary>
    public bool KeepLoraSeparate { get; set; }

    /// <summary>
    /// Gets or sets the weight size, in bytes, above which the weights are written to <c>model.onnx.data</c> beside
    /// <c>model.onnx</c> (ONNX external data) instead of inside it.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long ExternalDataThresholdBytes { get; set; } = DefaultExternalDataThresholdBytes;

    /// <summary>
    /// Gets or sets whether the checkpoint's weights are stored as float16 (half the size of <c>model.onnx</c>), each
    /// cast to float32 inside the graph, which ONNX Runtime folds at load: arithmetic, the KV cache, inputs and logits
    /// stay float32, so the graph loads wherever the fp32 export does; logits move by the weights' float16 rounding
    /// (relative 2⁻¹¹). LoRA inputs kept separate and the rotary tables stay float32.
    /// </summary>
    public bool Float16Weights { get; set; }

    /// <summary>Gets or sets whether an existing, non-empty output folder is replaced; when <see langword="false"/> it is an error.</summary>
    public bool Overwrite { get; set; }

    /// <summary>
    /// Gets or sets a folder to copy tokenizer files from (<c>tokenizer.json</c>, <c>tokenizer_config.json</c>, …)
    /// when the checkpoint folder has none; <see langword="null"/> copies only the checkpoint's own.
    /// </summary>
    public string? TokenizerDirectory { get; set; }
}
