using System.Text;

namespace LlmAdapt.Prompting.SelfConsistency;

/// <summary>Turns answers that mean the same into the same key before votes are counted.</summary>
public static class AnswerNormalizer
{
    /// <summary>
    /// The default: lower case (invariant), surrounding quotes, Markdown emphasis and a final full stop removed,
    /// runs of white space made one space, and the thousands separators of a number dropped (<c>1,000</c> → <c>1000</c>).
    /// </summary>
    /// <param name="answer">The answer.</param>
    /// <returns>Its key.</returns>
    public static string Default(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var text = answer.Trim().Trim('*', '_', '`', '"', '\'', '“', '”').Trim();
        while (text.EndsWith('.') && !text.EndsWith("..", StringComparison.Ordinal))
        {
            text = text[..^1].TrimEnd();
        }

        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        var result = builder.ToString();
        return IsGroupedNumber(result) ? result.Replace(",", string.Empty, StringComparison.Ordinal) : result;
    }

    private static bool IsGroupedNumber(string text)
    {
        if (!text.Contains(',', StringComparison.Ordinal))
        {
            return false;
        }

        var body = text.StartsWith('-') ? text[1..] : text;
        var integer = body.Split('.')[0];
        var groups = integer.Split(',');
        return groups[0].Length is >= 1 and <= 3
            && groups.All(g => g.All(char.IsAsciiDigit))
            && groups.Skip(1).All(g => g.Length == 3)
            && body.Split('.').Length <= 2
            && body.Split('.').Skip(1).All(f => f.Length > 0 && f.All(char.IsAsciiDigit));
    }
}
