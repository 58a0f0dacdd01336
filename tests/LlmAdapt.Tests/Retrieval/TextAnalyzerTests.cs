using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Tests.Retrieval;

public sealed class TextAnalyzerTests
{
    [Fact]
    public void Analyze_LowercasesDropsStopWordsAndStems()
    {
        var terms = TextAnalyzer.English.Analyze("The Pilot's wings were CONNECTED to the fuselage, and flutter-free!");
        Assert.Equal(["pilot", "wing", "connect", "fuselag", "flutter", "free"], terms);
    }

    [Fact]
    public void Analyze_SplitsAtUnicodeWordBoundaries()
    {
        var terms = new TextAnalyzer(stopWords: null, stem: false).Analyze("Zürich—naïve 東京 x2 don’t");
        Assert.Equal(["zürich", "naïve", "東京", "x2", "dont"], terms);
    }

    [Fact]
    public void Analyze_QueryOfOnlyStopWords_GivesNoTerms() => Assert.Empty(TextAnalyzer.English.Analyze("to be or not to be, that is it."));
}
