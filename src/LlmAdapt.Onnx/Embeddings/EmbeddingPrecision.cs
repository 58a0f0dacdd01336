namespace LlmAdapt.Onnx.Embeddings;

/// <summary>The arithmetic the encoder runs in.</summary>
public enum EmbeddingPrecision
{
    /// <summary>The model as exported: 32-bit floating point.</summary>
    Float32 = 0,
}
