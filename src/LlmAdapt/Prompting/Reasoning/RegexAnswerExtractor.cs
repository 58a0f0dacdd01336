using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace LlmAdapt.Prompting.Reasoning;

/// <summary>
/// Takes the answer from the last match of a regular expression: its group named <c>answer</c> when there is one,
/// else group 1, else the whole match. The regex runs with a timeout; a timeout counts as no answer.
/// </summary>
public sealed class RegexAnswerExtractor : IAnswerExtractor
{
    private readonly Regex _regex;

    /// <summary>Initializes the extractor.</summary>
    /// <param name="pattern">The pattern.</param>
    /// <param name="timeout">The most time one extraction may take; by default one second.</param>
    /// <param name="options">Regex options; <see cref="RegexOptions.Multiline"/> and <see cref="RegexOptions.IgnoreCase"/> by default.</param>
    /// <exception cref="ArgumentException">The pattern does not parse.</exception>
    public RegexAnswerExtractor(string pattern, TimeSpan? timeout = null, RegexOptions options = RegexOptions.Multiline | RegexOptions.IgnoreCase)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var limit = timeout ?? TimeSpan.FromSeconds(1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit, TimeSpan.Zero, nameof(timeout));
        _regex = new Regex(pattern, options | RegexOptions.CultureInvariant, limit);
    }

    /// <inheritdoc />
    public bool TryExtract(string text, [NotNullWhen(true)] out string? answer)
    {
        answer = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        try
        {
            Match? last = null;
            for (var m = _regex.Match(text); m.Success; m = m.NextMatch())
            {
                last = m;
            }

            if (last is null)
            {
                return false;
            }

            var group = last.Groups["answer"] is { Success: true } named ? named : last.Groups.Count > 1 && last.Groups[1].Success ? last.Groups[1] : last.Groups[0];
            var value = group.Value.Trim();
            if (value.Length == 0)
            {
                return false;
            }

            answer = value;
            return true;
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
