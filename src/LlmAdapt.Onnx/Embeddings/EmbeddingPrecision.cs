namespace LlmAdapt.Onnx.Embeddings;

/// <summary>The arithmetic the encoder runs in.</summary>
public enum EmbeddingPrecision
{
    /// <summary>The model as exported: 32-bit floating point.</summary>
    Float32 = 0,

    /// <summary>
    /// Weight matrices quantized once to 8-bit integers (per output column, symmetric) and multiplied with ONNX Runtime's
    /// integer kernels; activations are quantized on the fly. The quantized model is cached on disk.
    /// </summary>
    Int8 = 1,
}
