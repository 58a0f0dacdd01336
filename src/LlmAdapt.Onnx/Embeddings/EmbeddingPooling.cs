namespace LlmAdapt.Onnx.Embeddings;

/// <summary>How a sentence embedding is made from the model's per-token hidden states.</summary>
public enum EmbeddingPooling
{
    /// <summary>The mean of the hidden states of the real (not padding) tokens, as sentence-transformers' <c>pooling_mode_mean_tokens</c>.</summary>
    Mean = 0,

    /// <summary>The hidden state of the first token (<c>[CLS]</c>), as <c>pooling_mode_cls_token</c>.</summary>
    Cls = 1,

    /// <summary>
    /// The mean and the element-wise maximum of the real tokens' hidden states, side by side (twice the hidden size per
    /// pooled layer): richer features for a task head than the mean alone. With normalisation on, the mean and the
    /// maximum are each scaled to unit length. Not a sentence-transformers sentence embedding: for classifier and
    /// reward-model features, not for similarity search.
    /// </summary>
    MeanMax = 2,
}
