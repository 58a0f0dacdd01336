using LlmAdapt.Retrieval;
using System.Text.RegularExpressions;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Tests.Retrieval;

public sealed class EnglishStemmerTests
{
    [Theory]
    [InlineData("caresses", "caress")]
    [InlineData("ponies", "poni")]
    [InlineData("ties", "tie")]
    [InlineData("cats", "cat")]
    [InlineData("gas", "gas")]
    [InlineData("agreed", "agre")]
    [InlineData("feed", "feed")]
    [InlineData("plastered", "plaster")]
    [InlineData("motoring", "motor")]
    [InlineData("hopping", "hop")]
    [InlineData("hoping", "hope")]
    [InlineData("filing", "file")]
    [InlineData("sized", "size")]
    [InlineData("cry", "cri")]
    [InlineData("say", "say")]
    [InlineData("happiness", "happi")]
    [InlineData("relational", "relat")]
    [InlineData("conditional", "condit")]
    [InlineData("generalization", "general")]
    [InlineData("generously", "generous")]
    [InlineData("oscillators", "oscil")]
    [InlineData("hopeful", "hope")]
    [InlineData("goodness", "good")]
    [InlineData("adjustable", "adjust")]
    [InlineData("connection", "connect")]
    [InlineData("connected", "connect")]
    [InlineData("knightly", "knight")]
    [InlineData("consignment", "consign")]
    [InlineData("communism", "communism")]
    [InlineData("skies", "sky")]
    [InlineData("dying", "die")]
    [InlineData("news", "news")]
    [InlineData("inning", "inning")]
    [InlineData("succeeding", "succeed")]
    [InlineData("aerodynamics", "aerodynam")]
    [InlineData("by", "by")]
    public void Stem_KnownWord_GivesPublishedStem(string word, string stem) => Assert.Equal(stem, EnglishStemmer.Stem(word));

    [Fact]
    public void Stem_EveryCranfieldWord_MatchesSnowballReference()
    {
        // Lucene.Net ships the Snowball project's generated English stemmer; ours is written from the algorithm's
        // description, so agreeing on a real vocabulary of thousands of words checks every step.
        var words = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(TestData.PathOf("retrieval/cranfield/cran.all.1400")))
        {
            foreach (Match match in Regex.Matches(line.ToLowerInvariant(), "[a-z]+"))
            {
                words.Add(match.Value);
            }
        }

        var reference = new Lucene.Net.Tartarus.Snowball.Ext.EnglishStemmer();
        var mismatches = new List<string>();
        foreach (var word in words)
        {
            reference.SetCurrent(word);
            reference.Stem();
            var expected = reference.Current;
            var actual = EnglishStemmer.Stem(word);
            if (expected != actual)
            {
                mismatches.Add($"{word}: {actual} (reference {expected})");
            }
        }

        Assert.True(words.Count > 5000, $"only {words.Count} words");
        Assert.True(mismatches.Count == 0, string.Join("; ", mismatches.Take(40)));
    }
}
