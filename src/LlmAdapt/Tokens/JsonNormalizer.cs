using System.Text;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Tokens;

/// <summary>
/// The normalizers a byte-level <c>tokenizer.json</c> uses (Unicode forms such as Qwen 2.5's NFC, lowercasing) and
/// <c>ByteLevel</c>'s <c>add_prefix_space</c>, applied in order before pre-tokenization.
/// </summary>
internal sealed class JsonNormalizer : Normalizer
{
    private readonly NormalizationForm? _form;
    private readonly bool _lowercase;
    private readonly bool _prefixSpace;

    public JsonNormalizer(NormalizationForm? form, bool lowercase, bool prefixSpace)
    {
        _form = form;
        _lowercase = lowercase;
        _prefixSpace = prefixSpace;
    }

    public override string Normalize(string original)
    {
        ArgumentNullException.ThrowIfNull(original);
        var text = _form is { } form && !original.IsNormalized(form) ? original.Normalize(form) : original;
        if (_lowercase)
        {
            text = text.ToLowerInvariant();
        }

        // Hugging Face adds the space only where the text does not already start with one.
        return _prefixSpace && text.Length > 0 && text[0] != ' ' ? " " + text : text;
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
