using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Tests.Retrieval;

public sealed class Bm25IndexTests
{
    [Fact]
    public void Search_ScoresAsOkapiBm25()
    {
        using var index = new Bm25Index(new Bm25Options { K1 = 1.2, B = 0.75 });
        index.Upsert(0, "wing wing flutter");
        index.Upsert(1, "flutter of a panel in supersonic flow");
        index.Upsert(2, "boundary layer");

        var results = index.Search("wing", 10);

        // One document of three has "wing": idf = ln(1 + (3 - 1 + 0.5) / (1 + 0.5)); length 3, mean length 3.
        var idf = Math.Log(1 + (2.5 / 1.5));
        var expected = idf * 2 * 2.2 / (2 + (1.2 * (1 - 0.75 + (0.75 * 3 / 3.0))));
        var hit = Assert.Single(results);
        Assert.Equal(0, hit.Key);
        Assert.Equal(expected, hit.Score, 4);
    }

    [Fact]
    public void Search_AfterUpdateAndDelete_ReflectsTheLatestText()
    {
        using var index = new Bm25Index();
        index.Upsert(0, "heat transfer in slabs");
        index.Upsert(1, "shock waves");
        index.Upsert(0, "panel flutter");
        Assert.Empty(index.Search("heat", 5));
        Assert.Equal(0, Assert.Single(index.Search("flutter", 5)).Key);

        Assert.True(index.Remove(1));
        Assert.False(index.Remove(1));
        Assert.Empty(index.Search("shock", 5));
        Assert.Equal(1, index.Count);
    }

    [Fact]
    public void Search_OnlyStopWords_MatchesNothing()
    {
        using var index = new Bm25Index();
        index.Upsert(0, "the wing");
        Assert.Empty(index.Search("the of and", 5));
    }

    [Fact]
    public void Search_WithAcceptFilter_RanksOnlyAcceptedKeys()
    {
        using var index = new Bm25Index();
        for (var i = 0; i < 20; i++)
        {
            index.Upsert(i, i % 2 == 0 ? "wing wing wing" : "wing");
        }

        var results = index.Search("wing", 5, key => key % 2 == 1);
        Assert.Equal(5, results.Length);
        Assert.All(results, r => Assert.Equal(1, r.Key % 2));
    }

    [Fact]
    public void Search_InvalidK_Throws()
    {
        using var index = new Bm25Index();
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search("wing", 0));
    }

    [Fact]
    public async Task Search_WhileAnotherThreadWrites_StaysConsistent()
    {
        using var index = new Bm25Index();
        for (var i = 0; i < 200; i++)
        {
            index.Upsert(i, $"stable document {i} about wings");
        }

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (var round = 0; round < 2000; round++)
            {
                var key = 200 + (round % 50);
                index.Upsert(key, $"churn {round} wings");
                if (round % 3 == 0)
                {
                    index.Remove(key);
                }
            }
        });

        var searches = 0;
        while (!writer.IsCompleted)
        {
            var results = index.Search("stable wings", 10);
            Assert.Equal(10, results.Length);
            Assert.All(results, r => Assert.InRange(r.Key, 0, 199));
            searches++;
        }

        await writer;
        Assert.True(searches > 0);
    }
}
