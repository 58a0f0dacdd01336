using System.Globalization;
using System.Text.RegularExpressions;

namespace LlmAdapt.Retrieval.Packing;

/// <summary>Retrieved passages chosen to fit a token budget, numbered and fenced as untrusted data.</summary>
public sealed partial class PackedContext
{
    internal PackedContext(string text, string instruction, IReadOnlyList<PackedPassage> passages, int tokenCount)
    {
        Text = text;
        Instruction = instruction;
        Passages = passages;
        TokenCount = tokenCount;
    }

    /// <summary>Gets the fenced passages, ready to place in a prompt.</summary>
    public string Text { get; }

    /// <summary>Gets the sentence to put in the system prompt that tells the model what the fences mean.</summary>
    public string Instruction { get; }

    /// <summary>Gets the passages, numbered from 1.</summary>
    public IReadOnlyList<PackedPassage> Passages { get; }

    /// <summary>Gets the tokens <see cref="Text"/> costs.</summary>
    public int TokenCount { get; }

    /// <summary>
    /// Maps the citation markers in <paramref name="answer"/> (<c>[2]</c>, <c>[1, 3]</c>, <c>[1][3]</c>) to their
    /// sources, in order of first mention. Numbers that name no passage are ignored.
    /// </summary>
    /// <param name="answer">The model's answer.</param>
    /// <returns>The cited passages.</returns>
    public IReadOnlyList<PackedPassage> ResolveCitations(string answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var cited = new List<PackedPassage>();
        foreach (Match match in Marker().Matches(answer))
        {
            foreach (var part in match.Groups[1].Value.Split(','))
            {
                if (int.TryParse(part.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
                    && n >= 1 && n <= Passages.Count && !cited.Contains(Passages[n - 1]))
                {
                    cited.Add(Passages[n - 1]);
                }
            }
        }

        return cited;
    }

    [GeneratedRegex(@"\[(\d+(?:\s*,\s*\d+)*)\]", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Marker();
}
