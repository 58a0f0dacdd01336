using System.Text;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Tests.Tokens;

public sealed class TokenCounterTests
{
    private static readonly Lazy<string> s_shakespeare = new(() => File.ReadAllText(TestData.PathOf("corpus/tinyshakespeare/input.txt")));

    // The first 20,000 characters of tinyshakespeare: a real text, small enough to count in a few milliseconds.
    private static string Sample => s_shakespeare.Value[..20_000];

    [Theory]
    [InlineData("gpt-4o", "o200k_base")]
    [InlineData("gpt-4", "cl100k_base")]
    [InlineData("gpt2", "gpt2")]
    public void CountTokens_EqualsTheTokenizersOwnCount(string model, string encodingOrModel)
    {
        var counter = TokenCounter.ForModel(model);
        var reference = encodingOrModel == "gpt2" ? TiktokenTokenizer.CreateForModel("gpt2") : TiktokenTokenizer.CreateForEncoding(encodingOrModel);

        Assert.Equal(reference.CountTokens(Sample), counter.CountTokens(Sample));
        Assert.Equal(reference.EncodeToIds(Sample).Count, counter.CountTokens(Sample));
        var whole = s_shakespeare.Value;
        Assert.Equal(reference.CountTokens(whole), counter.CountTokens(whole.AsSpan()));
    }

    [Fact]
    public void Encodings_DifferOnTheSameText()
    {
        var o200k = TokenCounter.ForEncoding("o200k_base").CountTokens(Sample);
        var cl100k = TokenCounter.ForEncoding("cl100k_base").CountTokens(Sample);
        var gpt2 = TokenCounter.ForModel("gpt2").CountTokens(Sample);
        Assert.True(o200k <= cl100k && cl100k < gpt2, $"o200k {o200k}, cl100k {cl100k}, gpt2 {gpt2}");
    }

    [Fact]
    public void UnknownModel_ThrowsListingValidNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => TokenCounter.ForModel("no-such-model-xyz"));
        Assert.Contains("no-such-model-xyz", ex.Message, StringComparison.Ordinal);
        Assert.Contains("gpt-4o", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cl100k_base", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TokenCounter.ForEncoding("p99k"));
    }

    [Fact]
    public void ChatMessages_IncludePerMessageNameAndReplyOverhead()
    {
        var counter = TokenCounter.ForModel("gpt-4o");
        var messages = new[]
        {
            new ChatMessage(ChatRole.System, "You are terse."),
            new ChatMessage(ChatRole.User, "What is 2+2?") { AuthorName = "alice" },
        };

        var expected = (3 + counter.CountTokens("system") + counter.CountTokens("You are terse."))
            + (3 + counter.CountTokens("user") + counter.CountTokens("What is 2+2?") + 1 + counter.CountTokens("alice"))
            + 3;
        Assert.Equal(expected, counter.CountTokens(messages));
        Assert.Equal(0, counter.CountTokens(Array.Empty<ChatMessage>()));

        var bare = TokenCounter.Create(counter.Tokenizer, "bare");
        Assert.Equal(counter.CountTokens("system") + counter.CountTokens("You are terse."), bare.CountTokens(messages.Take(1)));
    }

    [Theory]
    [InlineData("gpt-4o")]
    [InlineData("gpt-4")]
    [InlineData("gpt2")]
    public void TrimToTokens_NeverExceedsTheLimit_AndKeepsAPrefix(string model)
    {
        var counter = TokenCounter.ForModel(model);
        var text = Sample[..4000];
        foreach (var limit in new[] { 1, 2, 7, 50, 333, 900 })
        {
            var kept = counter.TrimToTokens(text, limit);
            Assert.True(counter.CountTokens(kept) <= limit, $"{counter.CountTokens(kept)} > {limit}");
            Assert.StartsWith(kept, text, StringComparison.Ordinal);
            Assert.True(counter.CountTokens(kept) >= limit - 1, $"trimmed too much: {counter.CountTokens(kept)} for {limit}");

            var tail = counter.TrimToTokens(text, limit, TrimSide.Start);
            Assert.True(counter.CountTokens(tail) <= limit);
            Assert.EndsWith(tail, text, StringComparison.Ordinal);
            Assert.True(counter.CountTokens(tail) >= limit - 1, $"trimmed too much from the start: {counter.CountTokens(tail)} for {limit}");
        }

        Assert.Same(text, counter.TrimToTokens(text, 100_000));
        Assert.Equal(string.Empty, counter.TrimToTokens(text, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => counter.TrimToTokens(text, -1));
    }

    [Theory]
    [InlineData("gpt-4o")]
    [InlineData("gpt-4")]
    [InlineData("gpt2")]
    public void TrimToTokens_NeverSplitsACharacter(string model)
    {
        var counter = TokenCounter.ForModel(model);
        // Emoji (surrogate pairs, several byte-level tokens each), accents and CJK.
        var text = string.Concat(Enumerable.Repeat("héllo 👋🏽 wörld 日本語のテキスト 🎉🎉 ", 20));
        for (var limit = 1; limit < 120; limit++)
        {
            foreach (var side in new[] { TrimSide.End, TrimSide.Start })
            {
                var kept = counter.TrimToTokens(text, limit, side);
                Assert.True(counter.CountTokens(kept) <= limit);
                Assert.True(limit < 8 || kept.Length > 0, $"nothing kept at limit {limit} ({side})");
                if (kept.Length > 0)
                {
                    Assert.False(char.IsHighSurrogate(kept[^1]), $"cut after a high surrogate at limit {limit}");
                    Assert.False(char.IsLowSurrogate(kept[0]), $"cut before a low surrogate at limit {limit}");
                    Assert.True(kept.EnumerateRunes().All(r => r != Rune.ReplacementChar));
                }
            }
        }
    }
}
