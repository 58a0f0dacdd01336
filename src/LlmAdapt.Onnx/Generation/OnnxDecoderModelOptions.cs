using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Onnx.Generation;

/// <summary>How <see cref="OnnxDecoderModel.Load"/> sets up ONNX Runtime.</summary>
public sealed class OnnxDecoderModelOptions
{
    /// <summary>
    /// Gets or sets the threads ONNX Runtime uses inside one step; 0 (the default) lets ONNX Runtime choose (one per
    /// physical core). Tiny models often decode fastest with 1. From 0 to 1,024.
    /// </summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; set; }

    /// <summary>Gets or sets the context length when the model's config gives none (or to use less of it); 0 (the default) takes the config's.</summary>
    [Range(0, 10_000_000)]
    public int ContextLength { get; set; }
}
