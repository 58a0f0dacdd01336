using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Tokens;

/// <summary>
/// The pre-tokenization a Hugging Face <c>tokenizer.json</c> declares for a byte-level BPE model, for Microsoft.ML.Tokenizers'
/// <see cref="BpeTokenizer"/>: the added tokens (special or not, longest first at the leftmost position) are cut out
/// whole, then each <c>Split</c> step (GPT-2's pattern for <c>ByteLevel</c> with <c>use_regex</c>, the model's own
/// pattern for Llama 3 or Qwen 2.5) cuts every remaining piece in turn. Unlike a tiktoken-style regex pre-tokenizer, text a
/// pattern does not match is kept as a piece of its own (Hugging Face's <c>Isolated</c> behaviour), so nothing is dropped.
/// </summary>
internal sealed class SplitPreTokenizer : PreTokenizer
{
    /// <summary>GPT-2's split, which <c>ByteLevel</c> applies when <c>use_regex</c> is true (its default).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Long enough for any prompt that fits a context; a pathological pattern fails rather than hangs.</summary>
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private readonly Regex? _added;
    private readonly Step[] _steps;

    public SplitPreTokenizer(IEnumerable<string> addedTokens, IReadOnlyList<Step> steps)
    {
        var alternatives = addedTokens.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal)
            .OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).Select(Regex.Escape).ToList();
        _added = alternatives.Count == 0 ? null : new Regex(string.Join('|', alternatives), RegexOptions.CultureInvariant, s_timeout);
        _steps = [.. steps];
    }

    /// <summary>How a <c>Split</c> step treats the text its pattern matches (Hugging Face's <c>SplitDelimiterBehavior</c>).</summary>
    internal enum Behavior
    {
        /// <summary>Matches and the text between them are separate pieces.</summary>
        Isolated,

        /// <summary>Matches are dropped.</summary>
        Removed,

        /// <summary>Each match joins the piece before it.</summary>
        MergedWithPrevious,

        /// <summary>Each match joins the piece after it.</summary>
        MergedWithNext,

        /// <summary>Adjacent matches form one piece.</summary>
        Contiguous,
    }

    public static Step CreateStep(string pattern, bool isRegex, Behavior behavior, bool invert)
        => new(new Regex(isRegex ? pattern : Regex.Escape(pattern), RegexOptions.CultureInvariant, s_timeout), behavior, invert);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
        => text is null ? [] : PreTokenize(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>();
        var at = 0;
        if (_added is not null)
        {
            foreach (var match in _added.EnumerateMatches(text))
            {
                Split(text, at, match.Index - at, pieces);
                pieces.Add((match.Index, match.Length));
                at = match.Index + match.Length;
            }
        }

        Split(text, at, text.Length - at, pieces);
        return pieces;
    }

    private void Split(ReadOnlySpan<char> text, int offset, int length, List<(int Offset, int Length)> output)
    {
        if (length == 0)
        {
            return;
        }

        List<(int Offset, int Length)> current = [(offset, length)];
        foreach (var step in _steps)
        {
            var next = new List<(int Offset, int Length)>(current.Count * 2);
            foreach (var (start, count) in current)
            {
                step.Apply(text, start, count, next);
            }

            current = next;
        }

        output.AddRange(current);
    }

    /// <summary>One <c>Split</c> pre-tokenizer: a pattern, what happens to its matches, and whether it is inverted.</summary>
    internal sealed record Step(Regex Pattern, Behavior Behavior, bool Invert)
    {
        public void Apply(ReadOnlySpan<char> text, int offset, int length, List<(int Offset, int Length)> output)
        {
            // The piece as alternating runs of matched and unmatched text (empty runs left out); an inverted split
            // treats the unmatched runs as the delimiters.
            var runs = new List<(int Offset, int Length, bool Delimiter)>();
            var piece = text.Slice(offset, length);
            var at = 0;
            foreach (var match in Pattern.EnumerateMatches(piece))
            {
                if (match.Length == 0)
                {
                    continue;
                }

                if (match.Index > at)
                {
                    runs.Add((offset + at, match.Index - at, Invert));
                }

                runs.Add((offset + match.Index, match.Length, !Invert));
                at = match.Index + match.Length;
            }

            if (at < length)
            {
                runs.Add((offset + at, length - at, Invert));
            }

            switch (Behavior)
            {
                case Behavior.Isolated:
                    output.AddRange(runs.Select(r => (r.Offset, r.Length)));
                    break;
                case Behavior.Removed:
                    output.AddRange(runs.Where(r => !r.Delimiter).Select(r => (r.Offset, r.Length)));
                    break;
                case Behavior.MergedWithPrevious:
                    // A delimiter joins the piece before it unless that piece is itself a delimiter (Hugging Face's rule).
                    for (var i = 0; i < runs.Count; i++)
                    {
                        if (runs[i].Delimiter && i > 0 && !runs[i - 1].Delimiter)
                        {
                            output[^1] = (output[^1].Offset, output[^1].Length + runs[i].Length);
                        }
                        else
                        {
                            output.Add((runs[i].Offset, runs[i].Length));
                        }
                    }

                    break;
                case Behavior.MergedWithNext:
                    // The mirror image: a delimiter joins the piece after it unless that piece is itself a delimiter.
                    var merged = new List<(int Offset, int Length)>(runs.Count);
                    for (var i = runs.Count - 1; i >= 0; i--)
                    {
                        if (runs[i].Delimiter && i < runs.Count - 1 && !runs[i + 1].Delimiter)
                        {
                            merged[^1] = (runs[i].Offset, merged[^1].Offset + merged[^1].Length - runs[i].Offset);
                        }
                        else
                        {
                            merged.Add((runs[i].Offset, runs[i].Length));
                        }
                    }

                    merged.Reverse();
                    output.AddRange(merged);
                    break;
                case Behavior.Contiguous:
                    for (var i = 0; i < runs.Count; i++)
                    {
                        var (start, count, delimiter) = runs[i];
                        while (delimiter && i + 1 < runs.Count && runs[i + 1].Delimiter)
                        {
                            count += runs[++i].Length;
                        }

                        output.Add((start, count));
                    }

                    break;
            }
        }
    }
}
