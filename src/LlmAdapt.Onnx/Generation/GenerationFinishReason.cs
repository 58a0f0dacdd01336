namespace LlmAdapt.Onnx.Generation;

/// <summary>Why a sequence stopped growing.</summary>
public enum GenerationFinishReason
{
    /// <summary>The model produced an end-of-sequence id or one of <see cref="GenerationOptions.StopTokenIds"/>.</summary>
    EndOfSequence,

    /// <summary>The decoded text reached one of <see cref="GenerationOptions.StopStrings"/>; the text is cut before it.</summary>
    StopString,

    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> tokens were generated.</summary>
    MaxNewTokens,

    /// <summary>The sequence filled the model's context.</summary>
    ContextLength,
}
