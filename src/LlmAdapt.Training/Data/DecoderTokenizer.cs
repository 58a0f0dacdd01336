using LlmAdapt.Formats;
using LlmAdapt.Tokens;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Training.Data;

/// <summary>
/// The tokenizer of a decoder being trained. Models the engine creates use GPT-2's (Microsoft.ML.Tokenizers' built-in
/// data) and their checkpoints carry GPT-2's tokenizer files; a checkpoint a user brings is read with its own
/// <c>tokenizer.json</c> through <see cref="HuggingFaceTokenizer"/> (byte-level BPE or SentencePiece-style BPE), its
/// end token from <c>config.json</c>'s <c>eos_token_id</c>. Its files are copied into every checkpoint trained from it.
/// </summary>
internal sealed class DecoderTokenizer
{
    private static readonly Lazy<DecoderTokenizer> s_gpt2 = new(() => new DecoderTokenizer(TiktokenTokenizer.CreateForModel("gpt2"), Gpt2TokenizerFiles.EndOfText, null, null, "gpt2"));

    private DecoderTokenizer(Tokenizer inner, int endOfText, int? beginningOfText, string? sourceDirectory, string kind)
    {
        Inner = inner;
        EndOfText = endOfText;
        BeginningOfText = beginningOfText;
        SourceDirectory = sourceDirectory;
        Kind = kind;
    }

    /// <summary>Gets GPT-2's tokenizer, for models created from scratch.</summary>
    public static DecoderTokenizer Gpt2 => s_gpt2.Value;

    public Tokenizer Inner { get; }

    /// <summary>Gets the id that ends a document or an answer (<c>eos_token_id</c>).</summary>
    public int EndOfText { get; }

    /// <summary>Gets the id put before each document or example when the tokenizer asks for it (<c>add_bos_token</c>), else null.</summary>
    public int? BeginningOfText { get; }

    /// <summary>Gets the folder whose tokenizer files this came from, or null for the built-in GPT-2 data.</summary>
    public string? SourceDirectory { get; }

    /// <summary>Gets what kind of tokenizer this is: gpt2 (built-in), byte-level-bpe or sentencepiece-bpe.</summary>
    public string Kind { get; }

    /// <summary>Turns text into ids, without a beginning-of-sequence id (the callers put <see cref="BeginningOfText"/> where it belongs).</summary>
    public int[] Encode(string text) => Inner is SentencePieceTokenizer sentencePiece
        ? [.. sentencePiece.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false)]
        : [.. Inner.EncodeToIds(text)];

    public string Decode(IEnumerable<int> ids) => Inner.Decode(ids) ?? string.Empty;

    /// <summary>Loads a checkpoint folder's tokenizer: its tokenizer.json, or GPT-2's when a GPT-2-vocabulary folder has none.</summary>
    /// <exception cref="ModelLoadException">The folder has no usable tokenizer.</exception>
    public static DecoderTokenizer Load(string directory, HuggingFaceModelConfig config)
    {
        var full = Path.GetFullPath(directory);
        var path = Path.Combine(full, "tokenizer.json");
        if (!File.Exists(path))
        {
            return config.VocabSize == Gpt2TokenizerFiles.VocabularySize
                ? Gpt2
                : throw new ModelLoadException(path, $"the checkpoint has no tokenizer.json and its vocabulary ({config.VocabSize}) is not GPT-2's ({Gpt2TokenizerFiles.VocabularySize}).", null);
        }

        var loaded = HuggingFaceTokenizer.Load(full);
        var endOfText = config.EosTokenId ?? loaded.EndOfSequenceId ?? loaded.TokenToId(Gpt2TokenizerFiles.EndOfTextToken) ?? loaded.TokenToId("</s>")
            ?? throw new ModelLoadException(path, "no end-of-text token: config.json has no eos_token_id and tokenizer_config.json no eos_token found in the vocabulary.", null);
        var bos = loaded.AddBeginningOfSequence ? config.BosTokenId ?? loaded.BeginningOfSequenceId : null;
        var kind = loaded.Kind == HuggingFaceTokenizerKind.SentencePieceBpe ? "sentencepiece-bpe" : "byte-level-bpe";
        return new DecoderTokenizer(loaded.Tokenizer!, endOfText, bos, full, kind);
    }

    /// <summary>Writes this tokenizer's files into a checkpoint folder: copies of the source's, or GPT-2's.</summary>
    public async Task SaveAsync(string directory, int contextLength, CancellationToken cancellationToken)
    {
        if (SourceDirectory is null)
        {
            await Gpt2TokenizerFiles.WriteAsync(directory, contextLength, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (Path.GetFullPath(SourceDirectory) == Path.GetFullPath(directory))
        {
            return;
        }

        await TokenizerFiles.CopyAsync(SourceDirectory, directory, cancellationToken).ConfigureAwait(false);
    }
}
