using System.ComponentModel.DataAnnotations;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Chunking;
using LlmAdapt.Tokens;

namespace LlmAdapt.Tests.Retrieval;

public sealed class ChunkerTests
{
    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");

    [Fact]
    public void Recursive_RealText_StaysWithinMaxTokensWithOffsetsAndOverlap()
    {
        var text = string.Join("\n\n", File.ReadLines(TestData.PathOf("corpus/tinyshakespeare/input.txt")).Take(400).Chunk(8).Select(lines => string.Join('\n', lines)));
        var document = new Document { Id = "shakespeare", Text = text, Source = "input.txt", Title = "Plays", AllowedPrincipals = ["readers"] };
        var chunks = new RecursiveChunker(s_counter, new ChunkerOptions { MaxTokens = 60, OverlapTokens = 15 }).Chunk(document);

        Assert.True(chunks.Count > 20);
        var overlapping = 0;
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunk = chunks[i];
            Assert.Equal(text[chunk.StartOffset..chunk.EndOffset], chunk.Text);
            Assert.Equal(s_counter.CountTokens(chunk.Text), chunk.TokenCount);
            Assert.InRange(chunk.TokenCount, 1, 60);
            Assert.Equal($"shakespeare#{i}", chunk.Id);
            Assert.Equal("input.txt", chunk.Source);
            Assert.Equal(["readers"], chunk.AllowedPrincipals!);
            if (i > 0)
            {
                // Consecutive chunks move forward and overlap by at most the overlap budget.
                Assert.True(chunk.StartOffset > chunks[i - 1].StartOffset);
                if (chunk.StartOffset < chunks[i - 1].EndOffset)
                {
                    Assert.InRange(s_counter.CountTokens(text[chunk.StartOffset..chunks[i - 1].EndOffset]), 1, 15 + 2);
                    overlapping++;
                }
            }
        }

        // The overlap is used: most consecutive chunks share text.
        Assert.True(overlapping > (chunks.Count - 1) / 2, $"{overlapping} of {chunks.Count - 1} consecutive pairs overlap");

        // Every non-space character of the text is in some chunk.
        var covered = new bool[text.Length];
        foreach (var chunk in chunks)
        {
            Array.Fill(covered, true, chunk.StartOffset, chunk.EndOffset - chunk.StartOffset);
        }

        Assert.All(Enumerable.Range(0, text.Length).Where(i => !char.IsWhiteSpace(text[i])), i => Assert.True(covered[i], $"character {i} is in no chunk"));
    }

    [Fact]
    public void Recursive_PrefersParagraphThenSentenceBoundaries()
    {
        var text = "First paragraph is short.\n\nSecond paragraph has two sentences. This is the second one of them.";
        var chunks = new RecursiveChunker(s_counter, new ChunkerOptions { MaxTokens = 10, OverlapTokens = 0 }).Chunk(new Document { Id = "d", Text = text });
        Assert.Equal(["First paragraph is short.", "Second paragraph has two sentences.", "This is the second one of them."], chunks.Select(c => c.Text));
    }

    [Fact]
    public void Recursive_OneHugeWord_IsCutAtTokenBoundaries()
    {
        var text = new string('x', 5000);
        var chunks = new RecursiveChunker(s_counter, new ChunkerOptions { MaxTokens = 50, OverlapTokens = 0 }).Chunk(new Document { Id = "d", Text = text });
        Assert.Equal(text, string.Concat(chunks.Select(c => c.Text)));
        Assert.All(chunks, c => Assert.InRange(c.TokenCount, 1, 50));
    }

    [Fact]
    public void Options_OverlapNotBelowMax_IsRejected()
    {
        var ex = Assert.Throws<InvalidOptionsException>(() => new RecursiveChunker(s_counter, new ChunkerOptions { MaxTokens = 20, OverlapTokens = 20 }));
        Assert.Contains("OverlapTokens (20) must be less than MaxTokens (20)", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOptionsException>(() => new MarkdownChunker(s_counter, new ChunkerOptions { MaxTokens = 0 }));
    }

    [Fact]
    public void Empty_Document_GivesNoChunks() =>
        Assert.Empty(new MarkdownChunker(s_counter).Chunk(new Document { Id = "d", Text = "  \n\n " }));

    [Fact]
    public void Markdown_KeepsHeadingPathAndNeverSplitsCodeOrTables()
    {
        var code = "```csharp\nvar x = 1;\n\nvar y = 2;\n\nConsole.WriteLine(x + y);\n```";
        var table = "| name | value |\n|---|---|\n| alpha | 1 |\n| beta | 2 |";
        var text = $"# Guide\n\nIntro text here.\n\n## Install\n\n{code}\n\nAfter the code comes more prose that is long enough to need its own chunk maybe.\n\n### Linux\n\n{table}\n\nDone.";
        var chunks = new MarkdownChunker(s_counter, new ChunkerOptions { MaxTokens = 40, OverlapTokens = 0 }).Chunk(new Document { Id = "g", Text = text });

        Assert.Contains(chunks, c => c.Text.Contains(code, StringComparison.Ordinal));
        Assert.Contains(chunks, c => c.Text.Contains(table, StringComparison.Ordinal));
        Assert.Equal("Guide > Install", chunks.Single(c => c.Text.Contains(code, StringComparison.Ordinal)).Metadata[MarkdownChunker.HeadingPathKey]);
        Assert.Equal("Guide > Install > Linux", chunks.Single(c => c.Text.Contains(table, StringComparison.Ordinal)).Metadata[MarkdownChunker.HeadingPathKey]);
        Assert.Equal("Guide", chunks[0].Metadata[MarkdownChunker.HeadingPathKey]);
        Assert.All(chunks, c => Assert.Equal(text[c.StartOffset..c.EndOffset], c.Text));
        Assert.All(chunks, c => Assert.InRange(c.TokenCount, 1, 40));
    }
}
