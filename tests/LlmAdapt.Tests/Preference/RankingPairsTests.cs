using LlmAdapt.Preference;

namespace LlmAdapt.Tests.Preference;

public sealed class RankingPairsTests
{
    private static Ranking Make(params int[] ranks) => new()
    {
        Prompt = "Which is best?",
        Responses = ranks.Select((_, i) => $"answer {i}").ToArray(),
        Ranks = ranks,
    };

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(7)]
    public void WithoutTies_EachStrategyMakesItsCount(int k)
    {
        var ranking = Make(Enumerable.Range(1, k).Reverse().ToArray());
        Assert.Equal(k * (k - 1) / 2, RankingPairs.ToPairs([ranking], PairingStrategy.AllPairs).Count);
        Assert.Equal(k - 1, RankingPairs.ToPairs([ranking], PairingStrategy.BestVersusRest).Count);
        Assert.Equal(k - 1, RankingPairs.ToPairs([ranking], PairingStrategy.Adjacent).Count);
    }

    [Fact]
    public void WithTies_TiesMakeNoPair_AndCountsFollowTheGroups()
    {
        // Groups by rank: {0,3} best (2), {1} (1), {2,4,5} (3): k = 6.
        var ranking = Make(1, 2, 3, 1, 3, 3);
        var all = RankingPairs.ToPairs([ranking], PairingStrategy.AllPairs);
        Assert.Equal((6 * 5 / 2) - 1 - 3, all.Count); // 15 less C(2,2)=1 less C(3,2)=3
        Assert.Equal(2 * 4, RankingPairs.ToPairs([ranking], PairingStrategy.BestVersusRest).Count);
        Assert.Equal((2 * 1) + (1 * 3), RankingPairs.ToPairs([ranking], PairingStrategy.Adjacent).Count);
        Assert.DoesNotContain(all, p => p.Chosen == "answer 0" && p.Rejected == "answer 3");
        Assert.All(all, p => Assert.True(ranking.Ranks[int.Parse(p.Chosen[^1..])] < ranking.Ranks[int.Parse(p.Rejected[^1..])]));
    }

    [Fact]
    public void AllTied_MakesNoPairs()
    {
        var ranking = Make(1, 1, 1);
        foreach (var strategy in Enum.GetValues<PairingStrategy>())
        {
            Assert.Empty(RankingPairs.ToPairs([ranking], strategy));
        }
    }

    [Fact]
    public void DuplicatePairs_AcrossRankings_AreRemoved()
    {
        var ranking = Make(1, 2, 3);
        var pairs = RankingPairs.ToPairs([ranking, ranking with { Origin = "again" }], PairingStrategy.AllPairs);
        Assert.Equal(3, pairs.Count);
    }

    [Fact]
    public void Scores_GiveRanksAndMargins()
    {
        var ranking = new Ranking { Prompt = "p", Responses = ["a", "b", "c"], Ranks = RankingPairs.RanksFromScores([0.5, 2.0, 0.5]), Scores = [0.5, 2.0, 0.5] };
        Assert.Equal(new[] { 2, 1, 2 }, ranking.Ranks);
        var pairs = RankingPairs.ToPairs([ranking], PairingStrategy.AllPairs);
        Assert.Equal(2, pairs.Count);
        Assert.All(pairs, p => Assert.Equal("b", p.Chosen));
        Assert.All(pairs, p => Assert.Equal(1.5, p.Margin));
    }

    [Fact]
    public void SameTextWithDifferentRanks_IsRejectedNamingTheOrigin()
    {
        var ranking = new Ranking { Prompt = "p", Responses = ["same", "other", "same"], Ranks = [1, 2, 3], Origin = "r.jsonl:7" };
        var ex = Assert.Throws<InvalidDataFileException>(() => RankingPairs.ToPairs([ranking], PairingStrategy.AllPairs));
        Assert.Contains("r.jsonl:7", ex.Message, StringComparison.Ordinal);
        Assert.Contains("same text", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PairingStrategy.BestVersusRest)]
    [InlineData(PairingStrategy.Adjacent)]
    public void SameTextWithDifferentRanks_IsRejected_EvenWhereTheStrategyWouldNotPairTheCopies(PairingStrategy strategy)
    {
        // Ranks 2 and 4 are neither the best nor neighbours, so neither strategy pairs the two copies of "same".
        var ranking = new Ranking { Prompt = "p", Responses = ["best", "same", "mid", "same"], Ranks = [1, 2, 3, 4], Origin = "r.jsonl:9" };
        var ex = Assert.Throws<InvalidDataFileException>(() => RankingPairs.ToPairs([ranking], strategy));
        Assert.Contains("r.jsonl:9: responses 1 and 3 are the same text", ex.Message, StringComparison.Ordinal);

        // The same text at the same rank is a tie, not a contradiction.
        var tie = new Ranking { Prompt = "p", Responses = ["best", "same", "same"], Ranks = [1, 2, 2] };
        Assert.Single(RankingPairs.ToPairs([tie], strategy));
    }

    [Fact]
    public void EmptyOrTooLongResponse_AndMismatchedRanks_AreRejected()
    {
        Assert.Throws<InvalidDataFileException>(() => RankingPairs.ToPairs([new Ranking { Prompt = "p", Responses = ["a", " "], Ranks = [1, 2] }], PairingStrategy.AllPairs));
        Assert.Throws<InvalidDataFileException>(() => RankingPairs.ToPairs([new Ranking { Prompt = "p", Responses = ["a", "b"], Ranks = [1] }], PairingStrategy.AllPairs));
        var limits = new PreferenceLimits { MaxResponseCharacters = 10 };
        var ex = Assert.Throws<InvalidDataFileException>(() => RankingPairs.ToPairs([new Ranking { Prompt = "p", Responses = ["a", new string('x', 11)], Ranks = [1, 2] }], PairingStrategy.AllPairs, limits));
        Assert.Contains("11 characters", ex.Message, StringComparison.Ordinal);
    }
}
