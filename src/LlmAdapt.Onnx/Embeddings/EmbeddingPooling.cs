namespace LlmAdapt.Onnx.Embeddings;

/// <summary>How a sentence embedding is made from the model's per-token hidden states.</summary>
public enum EmbeddingPooling
{
    /// <summary>The mean of the hidden states of the real (not padding) tokens, as sentence-transformers' <c>pooling_mode_mean_tokens</c>.</summary>
    Mean = 0,

    /// <summary>The hidden state of the first token (<c>[CLS]</c>), as <c>pooling_mode_cls_token</c>.</summary>
    Cls = 1,
}
