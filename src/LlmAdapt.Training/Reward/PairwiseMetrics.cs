using LlmAdapt.Preference;

namespace LlmAdapt.Training.Reward;

/// <summary>How often a reward (or a rule) ranks the chosen response above the rejected one.</summary>
public sealed record PairwiseMetrics
{
    /// <summary>Gets the number of pairs.</summary>
    public required int Count { get; init; }

    /// <summary>Gets the share of pairs ranked the people's way; a tie counts as half.</summary>
    public required double Accuracy { get; init; }

    /// <summary>Gets how many pairs were tied.</summary>
    public required int Ties { get; init; }

    /// <summary>Gets the mean of r(chosen) − r(rejected).</summary>
    public required double MeanMargin { get; init; }

    /// <summary>Computes the metrics from paired scores.</summary>
    /// <param name="chosen">Scores of the chosen responses.</param>
    /// <param name="rejected">Scores of the rejected responses, parallel.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="ArgumentException">The lists are empty or differ in length.</exception>
    public static PairwiseMetrics FromScores(IReadOnlyList<double> chosen, IReadOnlyList<double> rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        if (chosen.Count == 0 || chosen.Count != rejected.Count)
        {
            throw new ArgumentException($"{chosen.Count} chosen and {rejected.Count} rejected scores; both must be equal and non-zero.", nameof(rejected));
        }

        double wins = 0;
        double margin = 0;
        var ties = 0;
        for (var i = 0; i < chosen.Count; i++)
        {
            var d = chosen[i] - rejected[i];
            margin += d;
            if (d > 0)
            {
                wins++;
            }
            else if (d == 0)
            {
                ties++;
                wins += 0.5;
            }
        }

        return new PairwiseMetrics { Count = chosen.Count, Accuracy = wins / chosen.Count, Ties = ties, MeanMargin = margin / chosen.Count };
    }

    /// <summary>The baseline that scores a response by its length in characters: "longer wins" or, negated, "shorter wins".</summary>
    /// <param name="pairs">The pairs.</param>
    /// <param name="shorterWins">Whether the shorter response is predicted to be chosen.</param>
    /// <returns>The rule's pairwise accuracy (ties count half).</returns>
    public static PairwiseMetrics LengthRule(IReadOnlyList<PreferencePair> pairs, bool shorterWins)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var sign = shorterWins ? -1.0 : 1.0;
        return FromScores(pairs.Select(p => sign * p.Chosen.Trim().Length).ToArray(), pairs.Select(p => sign * p.Rejected.Trim().Length).ToArray());
    }
}
