using LlmAdapt.Prompting.SelfConsistency;

namespace LlmAdapt.Prompting.Optimization;

/// <summary>Scores a model's answer against the expected output, from 0 (wrong) to 1 (right).</summary>
public sealed class AnswerMetric
{
    private readonly Func<string, string, double> _score;

    private AnswerMetric(string name, Func<string, string, double> score)
    {
        Name = name;
        _score = score;
    }

    /// <summary>Gets 1 when the answer, trimmed, equals the expected output, trimmed (ordinal); else 0.</summary>
    public static AnswerMetric ExactMatch { get; } = new("exact", static (p, e) => string.Equals(p.Trim(), e.Trim(), StringComparison.Ordinal) ? 1 : 0);

    /// <summary>Gets 1 when both are equal after <see cref="AnswerNormalizer.Default"/> (case, spacing, quotes, final full stop); else 0.</summary>
    public static AnswerMetric NormalizedMatch { get; } = new("normalized", static (p, e) => AnswerNormalizer.Default(p) == AnswerNormalizer.Default(e) ? 1 : 0);

    /// <summary>Gets 1 when the normalised answer contains the normalised expected output; else 0.</summary>
    public static AnswerMetric Contains { get; } = new("contains", static (p, e) => AnswerNormalizer.Default(p).Contains(AnswerNormalizer.Default(e), StringComparison.Ordinal) ? 1 : 0);

    /// <summary>Gets the metric's name.</summary>
    public string Name { get; }

    /// <summary>Creates a metric from a delegate.</summary>
    /// <param name="name">A name for reports.</param>
    /// <param name="score">Scores (predicted, expected); results are clamped to [0, 1], and NaN counts as 0.</param>
    /// <returns>The metric.</returns>
    public static AnswerMetric Create(string name, Func<string, string, double> score)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(score);
        return new AnswerMetric(name, score);
    }

    /// <summary>Returns the metric by name: <c>exact</c>, <c>normalized</c> or <c>contains</c>.</summary>
    /// <param name="name">The name, any case.</param>
    /// <returns>The metric.</returns>
    /// <exception cref="ArgumentException">The name is not one of the three; the message lists them.</exception>
    public static AnswerMetric FromName(string name) => name?.Trim().ToUpperInvariant() switch
    {
        "EXACT" => ExactMatch,
        "NORMALIZED" or "NORMALISED" => NormalizedMatch,
        "CONTAINS" => Contains,
        _ => throw new ArgumentException($"Unknown metric '{name}'. Known metrics: exact, normalized, contains.", nameof(name)),
    };

    /// <summary>Scores <paramref name="predicted"/> against <paramref name="expected"/>.</summary>
    /// <param name="predicted">The model's answer.</param>
    /// <param name="expected">The expected output.</param>
    /// <returns>A score from 0 to 1.</returns>
    public double Score(string predicted, string expected)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(expected);
        var score = _score(predicted, expected);
        return double.IsNaN(score) ? 0 : Math.Clamp(score, 0, 1);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
