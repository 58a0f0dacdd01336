using System.Globalization;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Onnx.Embeddings;

/// <summary>
/// Splits normalised text the way Hugging Face's BERT <c>BasicTokenizer</c> does: at whitespace, and around every
/// punctuation character, where punctuation is every ASCII character that is not a letter, digit or space (so
/// <c>` $ + &lt; = &gt; ^ _ | ~</c> too) plus every Unicode <c>P*</c> character.
/// </summary>
/// <remarks>
/// <see cref="BertTokenizer"/>'s own pre-tokenizer (<c>\w+|[\p{P}]</c>) drops ASCII symbols such as the backtick and
/// keeps <c>_</c> inside words, so texts with them get other word pieces than the model was trained on.
/// </remarks>
internal sealed class BertBasicPreTokenizer : PreTokenizer
{
    public static BertBasicPreTokenizer Instance { get; } = new();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    internal static bool IsPunctuation(char c)
    {
        if (c is >= '!' and <= '/' or >= ':' and <= '@' or >= '[' and <= '`' or >= '{' and <= '~')
        {
            return true;
        }

        return c > 127 && CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    private static bool IsSeparator(char c) => c is ' ' or '\t' or '\n' or '\r'
        || (c > 127 && CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.SpaceSeparator or UnicodeCategory.Control or UnicodeCategory.Format)
        || char.IsControl(c);

    private static List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>(text.Length / 4 + 1);
        var start = -1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (IsSeparator(c))
            {
                if (start >= 0)
                {
                    pieces.Add((start, i - start));
                    start = -1;
                }
            }
            else if (IsPunctuation(c))
            {
                if (start >= 0)
                {
                    pieces.Add((start, i - start));
                    start = -1;
                }

                pieces.Add((i, 1));
            }
            else if (start < 0)
            {
                start = i;
            }
        }

        if (start >= 0)
        {
            pieces.Add((start, text.Length - start));
        }

        return pieces;
    }
}
