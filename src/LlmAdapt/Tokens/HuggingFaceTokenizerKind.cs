namespace LlmAdapt.Tokens;

/// <summary>How a Hugging Face <c>tokenizer.json</c> was turned into a Microsoft.ML.Tokenizers tokenizer.</summary>
public enum HuggingFaceTokenizerKind
{
    /// <summary>No tokenizer: the folder has no <c>tokenizer.json</c>, or one this reader cannot run (see <see cref="HuggingFaceTokenizer.Problem"/>).</summary>
    None,

    /// <summary>Byte-level BPE (GPT-2, CodeGen, Qwen 2.5, Llama 3, SmolLM2) through <see cref="Microsoft.ML.Tokenizers.BpeTokenizer"/>.</summary>
    ByteLevelBpe,

    /// <summary>SentencePiece-style BPE with <c>▁</c> for spaces and byte fallback (Llama 2, Mistral, TinyLlama) through <see cref="Microsoft.ML.Tokenizers.LlamaTokenizer"/>.</summary>
    SentencePieceBpe,
}
