using System.Globalization;

namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// Turns text into index terms: words at Unicode letter/digit boundaries, lower-cased, possessive <c>'s</c> removed,
/// stop words dropped and the rest stemmed. Thread-safe.
/// </summary>
public sealed class TextAnalyzer
{
    private readonly HashSet<string> _stopWords;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _stopLookup;

    /// <summary>Initializes an analyzer.</summary>
    /// <param name="stopWords">The words to drop (compared after lower-casing), or <see langword="null"/> for none.</param>
    /// <param name="stem">Whether to apply the <see cref="EnglishStemmer"/>.</param>
    public TextAnalyzer(IEnumerable<string>? stopWords, bool stem)
    {
        _stopWords = new HashSet<string>(stopWords?.Select(w => w.ToLowerInvariant()) ?? [], StringComparer.Ordinal);
        _stopLookup = _stopWords.GetAlternateLookup<ReadOnlySpan<char>>();
        Stem = stem;
    }

    /// <summary>Gets the English analyzer: <see cref="EnglishStopWords"/> and the Porter2 stemmer.</summary>
    public static TextAnalyzer English { get; } = new(EnglishStopWords.Default, stem: true);

    /// <summary>Gets whether words are stemmed.</summary>
    public bool Stem { get; }

    /// <summary>Gets the stop words.</summary>
    public IReadOnlySet<string> StopWords => _stopWords;

    /// <summary>Returns the terms of <paramref name="text"/> in order, with repeats.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The terms.</returns>
    public List<string> Analyze(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var terms = new List<string>();
        Analyze(text, terms);
        return terms;
    }

    /// <summary>Appends the terms of <paramref name="text"/> to <paramref name="terms"/>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="terms">Where the terms go.</param>
    public void Analyze(ReadOnlySpan<char> text, List<string> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        Span<char> buffer = stackalloc char[64];
        var i = 0;
        while (i < text.Length)
        {
            if (!IsWordChar(text, i))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < text.Length)
            {
                if (IsWordChar(text, i))
                {
                    i += IsPair(text, i) ? 2 : 1;
                }
                else if (IsApostrophe(text[i]) && i + 1 < text.Length && char.IsLetter(text[i + 1]) && i > start && char.IsLetter(text[i - 1]))
                {
                    i++;
                }
                else
                {
                    break;
                }
            }

            var word = text[start..i];
            if (word.Length > 255)
            {
                continue;
            }

            var lower = word.Length <= buffer.Length ? buffer[..word.Length] : new char[word.Length];
            word.ToLowerInvariant(lower);
            lower = StripPossessive(lower);
            if (lower.IsEmpty || _stopLookup.Contains(lower))
            {
                continue;
            }

            var term = lower.ToString();
            terms.Add(Stem && IsAsciiLetters(lower) ? EnglishStemmer.Stem(term) : term);
        }
    }

    private static Span<char> StripPossessive(Span<char> word)
    {
        if (word.Length >= 2 && word[^1] == 's' && IsApostrophe(word[^2]))
        {
            return word[..^2];
        }

        // Other apostrophes inside a word (don't, o'clock) are dropped so both spellings meet.
        var n = 0;
        for (var i = 0; i < word.Length; i++)
        {
            if (!IsApostrophe(word[i]))
            {
                word[n++] = word[i];
            }
        }

        return word[..n];
    }

    private static bool IsPair(ReadOnlySpan<char> text, int i) => i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1]);

    private static bool IsApostrophe(char c) => c is '\'' or '\u2019';

    private static bool IsWordChar(ReadOnlySpan<char> text, int i)
    {
        var c = text[i];
        if (c < 128)
        {
            return char.IsAsciiLetterOrDigit(c);
        }

        var category = IsPair(text, i)
            ? CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]))
            : CharUnicodeInfo.GetUnicodeCategory(c);
        return category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.LetterNumber or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
    }

    private static bool IsAsciiLetters(ReadOnlySpan<char> word)
    {
        foreach (var c in word)
        {
            if (c is < 'a' or > 'z')
            {
                return false;
            }
        }

        return true;
    }
}
