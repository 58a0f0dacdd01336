namespace LlmAdapt.Preference;

/// <summary>
/// Turns rankings of several responses into preference pairs. Ties make no pair; a pair seen before (same prompt, chosen
/// and rejected text) is dropped; every pair is validated against <see cref="PreferenceLimits"/>. Each pair's
/// <see cref="PreferencePair.Margin"/> is the score difference when the ranking has scores, otherwise the rank difference.
/// </summary>
public static class RankingPairs
{
    /// <summary>Builds the pairs of every ranking with <paramref name="strategy"/>.</summary>
    /// <param name="rankings">The rankings.</param>
    /// <param name="strategy">Which pairs each ranking yields.</param>
    /// <param name="limits">The bounds each ranking and pair is held to, or <see langword="null"/> for the defaults.</param>
    /// <returns>The distinct pairs, in ranking order and best response first within a ranking.</returns>
    /// <exception cref="InvalidDataFileException">A ranking is malformed (ranks not parallel to responses, a response empty or
    /// too long, two responses of different rank with the same text); the message names its origin.</exception>
    public static IReadOnlyList<PreferencePair> ToPairs(IEnumerable<Ranking> rankings, PairingStrategy strategy, PreferenceLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(rankings);
        limits ??= PreferenceLimits.Default;
        var seen = new HashSet<(string, string, string)>();
        var result = new List<PreferencePair>();
        var number = 0;
        foreach (var ranking in rankings)
        {
            number++;
            ArgumentNullException.ThrowIfNull(ranking);
            var origin = ranking.Origin ?? $"ranking #{number}";
            Check(ranking, origin, limits);
            foreach (var (better, worse) in Indices(ranking.Ranks, strategy))
            {
                var margin = ranking.Scores is { } scores ? scores[better] - scores[worse] : ranking.Ranks[worse] - ranking.Ranks[better];
                var pair = new PreferencePair
                {
                    Prompt = ranking.Prompt,
                    Chosen = ranking.Responses[better],
                    Rejected = ranking.Responses[worse],
                    Margin = margin,
                    Origin = $"{origin} (responses {better} > {worse})",
                };
                var problem = limits.Check(pair);
                if (problem is not null)
                {
                    throw new InvalidDataFileException($"{pair.Origin}: {problem}");
                }

                if (seen.Add((pair.Prompt, pair.Chosen, pair.Rejected)))
                {
                    result.Add(pair);
                }
            }
        }

        return result;
    }

    /// <summary>Returns how many pairs <paramref name="strategy"/> makes from <paramref name="ranks"/>, before duplicates are dropped.</summary>
    /// <param name="ranks">Each response's rank (lower is better, equal is a tie).</param>
    /// <param name="strategy">The strategy.</param>
    /// <returns>The number of pairs.</returns>
    public static int CountPairs(IReadOnlyList<int> ranks, PairingStrategy strategy)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        return Indices(ranks, strategy).Count();
    }

    /// <summary>Converts scores (higher is better) into ranks (1 is best; equal scores share a rank, dense ranking).</summary>
    /// <param name="scores">The scores.</param>
    /// <returns>The ranks, parallel to <paramref name="scores"/>.</returns>
    public static int[] RanksFromScores(IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var distinct = scores.Distinct().OrderByDescending(s => s).ToList();
        return scores.Select(s => distinct.IndexOf(s) + 1).ToArray();
    }

    private static IEnumerable<(int Better, int Worse)> Indices(IReadOnlyList<int> ranks, PairingStrategy strategy)
    {
        // Groups of equal rank, best first; members keep response order so output is stable.
        var groups = Enumerable.Range(0, ranks.Count).GroupBy(i => ranks[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        switch (strategy)
        {
            case PairingStrategy.AllPairs:
                for (var a = 0; a < groups.Length; a++)
                {
                    for (var b = a + 1; b < groups.Length; b++)
                    {
                        foreach (var better in groups[a])
                        {
                            foreach (var worse in groups[b])
                            {
                                yield return (better, worse);
                            }
                        }
                    }
                }

                break;
            case PairingStrategy.BestVersusRest:
                for (var b = 1; b < groups.Length; b++)
                {
                    foreach (var better in groups[0])
                    {
                        foreach (var worse in groups[b])
                        {
                            yield return (better, worse);
                        }
                    }
                }

                break;
            case PairingStrategy.Adjacent:
                for (var a = 0; a + 1 < groups.Length; a++)
                {
                    foreach (var better in groups[a])
                    {
                        foreach (var worse in groups[a + 1])
                        {
                            yield return (better, worse);
                        }
                    }
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Unknown pairing strategy.");
        }
    }

    private static void Check(Ranking ranking, string origin, PreferenceLimits limits)
    {
        if (ranking.Responses is null || ranking.Ranks is null)
        {
            throw new InvalidDataFileException($"{origin}: a ranking needs responses and ranks.");
        }

        if (ranking.Ranks.Count != ranking.Responses.Count)
        {
            throw new InvalidDataFileException($"{origin}: {ranking.Ranks.Count} ranks for {ranking.Responses.Count} responses.");
        }

        if (ranking.Scores is { } scores && scores.Count != ranking.Responses.Count)
        {
            throw new InvalidDataFileException($"{origin}: {scores.Count} scores for {ranking.Responses.Count} responses.");
        }

        if (ranking.Prompt is null || ranking.Prompt.Length > limits.MaxPromptCharacters || (!limits.AllowEmptyPrompt && string.IsNullOrWhiteSpace(ranking.Prompt)))
        {
            throw new InvalidDataFileException($"{origin}: the prompt is missing, empty or longer than {limits.MaxPromptCharacters} characters.");
        }

        for (var i = 0; i < ranking.Responses.Count; i++)
        {
            var response = ranking.Responses[i];
            if (!limits.AllowEmptyResponses && string.IsNullOrWhiteSpace(response))
            {
                throw new InvalidDataFileException($"{origin}: response {i} is empty.");
            }

            if (response.Length > limits.MaxResponseCharacters)
            {
                throw new InvalidDataFileException($"{origin}: response {i} has {response.Length} characters; the limit is {limits.MaxResponseCharacters}.");
            }
        }

        // The same text at two ranks contradicts itself, whether or not the strategy would pair the two copies.
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < ranking.Responses.Count; i++)
        {
            if (!firstIndex.TryAdd(ranking.Responses[i], i) && ranking.Ranks[firstIndex[ranking.Responses[i]]] != ranking.Ranks[i])
            {
                var j = firstIndex[ranking.Responses[i]];
                throw new InvalidDataFileException($"{origin}: responses {j} and {i} are the same text with different ranks ({ranking.Ranks[j]} and {ranking.Ranks[i]}).");
            }
        }
    }
}
