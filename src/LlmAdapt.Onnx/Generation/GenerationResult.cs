namespace LlmAdapt.Onnx.Generation;

/// <summary>What one prompt of a generate call produced.</summary>
public sealed class GenerationResult
{
    internal GenerationResult(IReadOnlyList<int> promptTokenIds, IReadOnlyList<int> tokenIds, string? text, GenerationFinishReason finishReason)
    {
        PromptTokenIds = promptTokenIds;
        TokenIds = tokenIds;
        Text = text;
        FinishReason = finishReason;
    }

    /// <summary>Gets the prompt's ids, without padding.</summary>
    public IReadOnlyList<int> PromptTokenIds { get; }

    /// <summary>Gets the generated ids, the end-of-sequence or stop id included when one ended the sequence.</summary>
    public IReadOnlyList<int> TokenIds { get; }

    /// <summary>Gets the generated text, cut before any stop string and without a closing stop id; <see langword="null"/> when the model folder has no tokenizer.</summary>
    public string? Text { get; }

    /// <summary>Gets why the sequence stopped.</summary>
    public GenerationFinishReason FinishReason { get; }

    /// <summary>Gets the prompt followed by the generated ids, as ONNX Runtime GenAI's <c>GetSequence</c> reports it.</summary>
    public IReadOnlyList<int> Sequence => [.. PromptTokenIds, .. TokenIds];
}
