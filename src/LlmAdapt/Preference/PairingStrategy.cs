namespace LlmAdapt.Preference;

/// <summary>How <see cref="RankingPairs"/> turns a ranking of k responses into preference pairs. Ties never make a pair.</summary>
public enum PairingStrategy
{
    /// <summary>Every two responses of different rank: k(k−1)/2 pairs without ties, less g(g−1)/2 for each group of g tied responses.</summary>
    AllPairs,

    /// <summary>Each best-ranked response against every worse one: k−1 pairs without ties, b(k−b) when b responses tie for best.</summary>
    BestVersusRest,

    /// <summary>Each rank group against the next worse group: k−1 pairs without ties, the sum of |G_i|·|G_i+1| over consecutive groups.</summary>
    Adjacent,
}
