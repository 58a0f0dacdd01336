namespace LlmAdapt.Preference.Feedback;

/// <summary>
/// Turns stored feedback into <see cref="Ranking"/>s, and through <see cref="RankingPairs"/> into preference pairs.
/// <list type="bullet">
/// <item>A ranking record becomes one ranking as it is (duplicate response texts keep their best rank).</item>
/// <item>Thumbs are pooled per prompt (exact text): each response's ups minus downs decides whether it is preferred
/// (more ups) or dispreferred (more downs); a prompt yields a two-level ranking only when it has both. Otherwise its
/// records are dropped as <see cref="FeedbackDropReason.ThumbsUpOnly"/> or <see cref="FeedbackDropReason.ThumbsDownOnly"/>;
/// a response with as many ups as downs is dropped as <see cref="FeedbackDropReason.ThumbsTied"/>.</item>
/// <item>Scores are pooled per prompt: each distinct response's mean score; two or more responses make a ranking by
/// score, one alone is dropped as <see cref="FeedbackDropReason.SingleScoredResponse"/>.</item>
/// </list>
/// </summary>
public static class FeedbackExport
{
    /// <summary>Builds rankings from <paramref name="records"/> by the rules above.</summary>
    /// <param name="records">The feedback, in any order.</param>
    /// <returns>The rankings and the count of dropped records by reason.</returns>
    /// <exception cref="ArgumentException">A record is malformed (<see cref="FeedbackRecord.Check"/>).</exception>
    public static FeedbackRankings ToRankings(IEnumerable<FeedbackRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var rankings = new List<(int Order, Ranking Ranking)>();
        var thumbs = new Dictionary<string, (int Order, Dictionary<string, (int Net, int Records)> Votes)>(StringComparer.Ordinal);
        var scores = new Dictionary<string, (int Order, Dictionary<string, (double Sum, int Count)> Scores)>(StringComparer.Ordinal);
        var dropped = new Dictionary<FeedbackDropReason, int>();
        var count = 0;
        foreach (var record in records)
        {
            ArgumentNullException.ThrowIfNull(record);
            if (record.Check() is { } problem)
            {
                throw new ArgumentException($"{record.Origin ?? "feedback record " + record.Id}: {problem}", nameof(records));
            }

            var order = count++;
            switch (record.Kind)
            {
                case FeedbackKind.Ranking:
                    rankings.Add((order, FromRankingRecord(record)));
                    break;
                case FeedbackKind.Thumbs:
                    {
                        if (!thumbs.TryGetValue(record.Prompt, out var entry))
                        {
                            entry = (order, new Dictionary<string, (int, int)>(StringComparer.Ordinal));
                            thumbs[record.Prompt] = entry;
                        }

                        var (net, n) = entry.Votes.GetValueOrDefault(record.Responses[0]);
                        entry.Votes[record.Responses[0]] = (net + (record.ThumbsUp == true ? 1 : -1), n + 1);
                        break;
                    }

                case FeedbackKind.Score:
                    {
                        if (!scores.TryGetValue(record.Prompt, out var entry))
                        {
                            entry = (order, new Dictionary<string, (double, int)>(StringComparer.Ordinal));
                            scores[record.Prompt] = entry;
                        }

                        var (sum, n) = entry.Scores.GetValueOrDefault(record.Responses[0]);
                        entry.Scores[record.Responses[0]] = (sum + record.Score!.Value, n + 1);
                        break;
                    }
            }
        }

        foreach (var (prompt, (order, votes)) in thumbs)
        {
            var tied = votes.Where(v => v.Value.Net == 0).Sum(v => v.Value.Records);
            Add(dropped, FeedbackDropReason.ThumbsTied, tied);
            var up = votes.Where(v => v.Value.Net > 0).Select(v => v.Key).ToList();
            var down = votes.Where(v => v.Value.Net < 0).Select(v => v.Key).ToList();
            if (up.Count == 0 || down.Count == 0)
            {
                var voted = votes.Where(v => v.Value.Net != 0).Sum(v => v.Value.Records);
                Add(dropped, up.Count == 0 ? FeedbackDropReason.ThumbsDownOnly : FeedbackDropReason.ThumbsUpOnly, voted);
                continue;
            }

            rankings.Add((order, new Ranking
            {
                Prompt = prompt,
                Responses = [.. up, .. down],
                Ranks = [.. up.Select(_ => 1), .. down.Select(_ => 2)],
                Origin = $"thumbs on prompt #{order + 1}",
            }));
        }

        foreach (var (prompt, (order, byResponse)) in scores)
        {
            if (byResponse.Count < 2)
            {
                Add(dropped, FeedbackDropReason.SingleScoredResponse, byResponse.Values.Sum(v => v.Count));
                continue;
            }

            var responses = byResponse.Keys.ToArray();
            var means = responses.Select(r => byResponse[r].Sum / byResponse[r].Count).ToArray();
            rankings.Add((order, new Ranking
            {
                Prompt = prompt,
                Responses = responses,
                Ranks = RankingPairs.RanksFromScores(means),
                Scores = means,
                Origin = $"scores on prompt #{order + 1}",
            }));
        }

        return new FeedbackRankings
        {
            Records = count,
            Rankings = rankings.OrderBy(r => r.Order).Select(r => r.Ranking).ToArray(),
            Dropped = dropped,
        };
    }

    /// <summary>Builds rankings from <paramref name="records"/> and then preference pairs with <paramref name="strategy"/>.</summary>
    /// <param name="records">The feedback.</param>
    /// <param name="strategy">Which pairs each ranking yields.</param>
    /// <param name="limits">The bounds each pair is held to, or <see langword="null"/> for the defaults.</param>
    /// <returns>The pairs and the rankings they came from, with the dropped counts.</returns>
    /// <exception cref="ArgumentException">A record is malformed.</exception>
    /// <exception cref="InvalidDataFileException">A ranking breaks <paramref name="limits"/>; the message names its origin.</exception>
    public static (FeedbackRankings Rankings, IReadOnlyList<PreferencePair> Pairs) ToPairs(IEnumerable<FeedbackRecord> records, PairingStrategy strategy = PairingStrategy.AllPairs, PreferenceLimits? limits = null)
    {
        var rankings = ToRankings(records);
        return (rankings, RankingPairs.ToPairs(rankings.Rankings, strategy, limits));
    }

    private static Ranking FromRankingRecord(FeedbackRecord record)
    {
        // A response text offered twice keeps its best rank (and that rank's score), so a ranking never ties a text with itself.
        var responses = new List<string>();
        var ranks = new List<int>();
        var scores = record.Scores is null ? null : new List<double>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < record.Responses.Count; i++)
        {
            var text = record.Responses[i];
            if (index.TryGetValue(text, out var at))
            {
                if (record.Ranks![i] < ranks[at])
                {
                    ranks[at] = record.Ranks[i];
                    if (scores is not null)
                    {
                        scores[at] = record.Scores![i];
                    }
                }

                continue;
            }

            index[text] = responses.Count;
            responses.Add(text);
            ranks.Add(record.Ranks![i]);
            scores?.Add(record.Scores![i]);
        }

        return new Ranking
        {
            Prompt = record.Prompt,
            Responses = responses,
            Ranks = ranks,
            Scores = scores,
            Origin = record.Origin ?? $"feedback record {record.Id}",
        };
    }

    private static void Add(Dictionary<FeedbackDropReason, int> dropped, FeedbackDropReason reason, int count)
    {
        if (count > 0)
        {
            dropped[reason] = dropped.GetValueOrDefault(reason) + count;
        }
    }
}
