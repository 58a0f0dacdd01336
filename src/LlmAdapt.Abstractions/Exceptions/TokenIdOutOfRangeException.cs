namespace LlmAdapt.Onnx.Generation;

/// <summary>A prompt holds a token id the model has no row of logits or embedding for; the message names the prompt, position, id and vocabulary size.</summary>
public sealed class TokenIdOutOfRangeException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public TokenIdOutOfRangeException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public TokenIdOutOfRangeException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TokenIdOutOfRangeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with where the id is and the vocabulary it is outside of.</summary>
    /// <param name="promptIndex">The 0-based index of the prompt in the batch.</param>
    /// <param name="position">The 0-based position of the id in that prompt.</param>
    /// <param name="tokenId">The id.</param>
    /// <param name="vocabularySize">How many ids the model has (valid ids are 0 to one less).</param>
    public TokenIdOutOfRangeException(int promptIndex, int position, int tokenId, int vocabularySize)
        : base($"Prompt {promptIndex}, position {position}: id {tokenId} is outside the vocabulary of {vocabularySize} ids (0..{vocabularySize - 1}).")
    {
        PromptIndex = promptIndex;
        Position = position;
        TokenId = tokenId;
        VocabularySize = vocabularySize;
    }

    /// <summary>Gets the 0-based index of the prompt in the batch, or -1 when not known.</summary>
    public int PromptIndex { get; } = -1;

    /// <summary>Gets the 0-based position of the id in its prompt, or -1 when not known.</summary>
    public int Position { get; } = -1;

    /// <summary>Gets the id outside the vocabulary.</summary>
    public int TokenId { get; }

    /// <summary>Gets the model's vocabulary size.</summary>
    public int VocabularySize { get; }
}
