using System.Text.RegularExpressions;
using LlmAdapt.Tokens;

namespace LlmAdapt.Retrieval.Chunking;

/// <summary>
/// The token-aware recursive splitting both chunkers share: a span that is too long is cut at paragraph breaks,
/// then line breaks, then sentence ends, then spaces, then token boundaries; the pieces are merged back greedily
/// into chunks of at most the maximum, each new chunk repeating up to the overlap from the end of the previous one.
/// </summary>
internal sealed partial class SpanSplitter(TokenCounter counter, ChunkerOptions options)
{
    private const int TokenLevel = 4;

    public TokenCounter Counter { get; } = counter;

    public ChunkerOptions Options { get; } = options;

    /// <summary>A chunker constructor's one check: a counter, and the options (the defaults when none) validated.</summary>
    public static SpanSplitter Create(TokenCounter counter, ChunkerOptions? options)
    {
        ArgumentNullException.ThrowIfNull(counter);
        options ??= new ChunkerOptions();
        options.Validate();
        return new SpanSplitter(counter, options);
    }

    public int Count(string text, int start, int end) => Counter.CountTokens(text.AsSpan(start, end - start));

    /// <summary>Cuts [start, end) into pieces of at most MaxTokens each, covering the span without gaps.</summary>
    public void Split(string text, int start, int end, List<(int Start, int End)> pieces, int level = 0)
    {
        if (start >= end)
        {
            return;
        }

        if (Count(text, start, end) <= Options.MaxTokens)
        {
            pieces.Add((start, end));
            return;
        }

        if (level >= TokenLevel)
        {
            SplitByTokens(text, start, end, pieces);
            return;
        }

        var cuts = Boundaries(text, start, end, level);
        if (cuts.Count == 0)
        {
            Split(text, start, end, pieces, level + 1);
            return;
        }

        var from = start;
        foreach (var cut in cuts.Append(end))
        {
            Split(text, from, cut, pieces, level + 1);
            from = cut;
        }
    }

    /// <summary>Merges pieces (each at most MaxTokens) into chunk spans with overlap, trimmed of outer white space.</summary>
    public List<(int Start, int End)> Merge(string text, IReadOnlyList<(int Start, int End)> pieces)
    {
        var tokens = pieces.Select(p => Count(text, p.Start, p.End)).ToArray();
        var chunks = new List<(int Start, int End)>();
        var i = 0;
        while (i < pieces.Count)
        {
            var j = i;
            var sum = 0;
            while (j < pieces.Count && (j == i || sum + tokens[j] <= Options.MaxTokens))
            {
                sum += tokens[j++];
            }

            // Pieces joined can tokenize to more than their sum; drop pieces from the end until the text fits.
            while (j > i + 1 && Count(text, pieces[i].Start, pieces[j - 1].End) > Options.MaxTokens)
            {
                j--;
            }

            var (s, e) = Trim(text, pieces[i].Start, pieces[j - 1].End);
            if (s < e)
            {
                chunks.Add((s, e));
            }

            if (j >= pieces.Count)
            {
                break;
            }

            // Start the next chunk with the last pieces of this one, up to the overlap, leaving room for piece j.
            var k = j;
            var overlap = 0;
            while (k - 1 > i && overlap + tokens[k - 1] <= Options.OverlapTokens)
            {
                overlap += tokens[--k];
            }

            while (k < j && overlap + tokens[j] > Options.MaxTokens)
            {
                overlap -= tokens[k++];
            }

            i = k;
        }

        return chunks;
    }

    public static (int Start, int End) Trim(string text, int start, int end)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
        {
            start++;
        }

        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        return (start, end);
    }

    private void SplitByTokens(string text, int start, int end, List<(int Start, int End)> pieces)
    {
        var position = start;
        while (position < end)
        {
            var rest = text[position..end];
            var length = Counter.TrimToTokens(rest, Options.MaxTokens).Length;
            if (length == 0)
            {
                length = char.IsHighSurrogate(rest[0]) && rest.Length > 1 ? 2 : 1;
            }

            pieces.Add((position, position + length));
            position += length;
        }
    }

    // Cut positions strictly inside (start, end): after a blank-line run, a line break, a sentence end, or a space run.
    private static List<int> Boundaries(string text, int start, int end, int level)
    {
        var regex = level switch
        {
            0 => Paragraph(),
            1 => Line(),
            2 => Sentence(),
            _ => Space(),
        };
        var cuts = new List<int>();
        foreach (Match match in regex.Matches(text[start..end]))
        {
            var cut = start + match.Index + match.Length;
            if (cut > start && cut < end)
            {
                cuts.Add(cut);
            }
        }

        return cuts;
    }

    [GeneratedRegex(@"\n[ \t]*\n\s*", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 2000)]
    private static partial Regex Paragraph();

    [GeneratedRegex(@"\n", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 2000)]
    private static partial Regex Line();

    [GeneratedRegex(@"[.!?。！？][""')\]]*\s+", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 2000)]
    private static partial Regex Sentence();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 2000)]
    private static partial Regex Space();
}
