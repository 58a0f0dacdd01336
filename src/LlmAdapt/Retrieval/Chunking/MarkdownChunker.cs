using System.Text.RegularExpressions;
using LlmAdapt.Tokens;

namespace LlmAdapt.Retrieval.Chunking;

/// <summary>
/// Chunks Markdown by its structure: a chunk never spans two sections, each chunk records its heading path
/// (<c>Guide &gt; Install &gt; Linux</c>) under <see cref="HeadingPathKey"/>, and fenced code blocks and tables are never
/// cut while they fit in <see cref="ChunkerOptions.MaxTokens"/> (one that does not fit alone is cut at line breaks,
/// the only way to keep every chunk within the limit). Long paragraphs are split as <see cref="RecursiveChunker"/> does.
/// </summary>
public sealed partial class MarkdownChunker : IChunker
{
    /// <summary>The metadata key of a chunk's heading path, headings joined by <c>" &gt; "</c>.</summary>
    public const string HeadingPathKey = "heading_path";

    private readonly SpanSplitter _splitter;

    /// <summary>Initializes the chunker.</summary>
    /// <param name="counter">Counts tokens.</param>
    /// <param name="options">Size limits; validated here.</param>
    public MarkdownChunker(TokenCounter counter, ChunkerOptions? options = null)
        => _splitter = SpanSplitter.Create(counter, options);

    /// <inheritdoc/>
    public IReadOnlyList<DocumentChunk> Chunk(Document document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var text = document.Text;
        var chunks = new List<DocumentChunk>();
        foreach (var section in Sections(text))
        {
            var pieces = new List<(int Start, int End)>();
            foreach (var block in section.Blocks)
            {
                if (_splitter.Count(text, block.Start, block.End) <= _splitter.Options.MaxTokens)
                {
                    pieces.Add((block.Start, block.End));
                }
                else if (block.Atomic)
                {
                    // Too long to keep whole: cut between lines (never inside one unless a single line is too long).
                    _splitter.Split(text, block.Start, block.End, pieces, level: 1);
                }
                else
                {
                    _splitter.Split(text, block.Start, block.End, pieces);
                }
            }

            foreach (var (start, end) in _splitter.Merge(text, pieces))
            {
                chunks.Add(ChunkFactory.Create(document, chunks.Count, start, end, _splitter.Count(text, start, end), section.HeadingPath));
            }
        }

        return chunks;
    }

    private static List<Section> Sections(string text)
    {
        var lines = new List<(int Start, int End)>();
        for (var start = 0; start < text.Length;)
        {
            var newline = text.IndexOf('\n', start);
            var end = newline < 0 ? text.Length : newline + 1;
            lines.Add((start, end));
            start = end;
        }

        var sections = new List<Section>();
        var headings = new List<(int Level, string Title)>();
        var current = new Section(null);
        sections.Add(current);
        for (var i = 0; i < lines.Count;)
        {
            var line = text[lines[i].Start..lines[i].End].TrimEnd('\r', '\n');
            if (string.IsNullOrWhiteSpace(line))
            {
                i++;
                continue;
            }

            var heading = Heading().Match(line);
            if (heading.Success)
            {
                var level = heading.Groups[1].Length;
                headings.RemoveAll(h => h.Level >= level);
                headings.Add((level, heading.Groups[2].Value.Trim().TrimEnd('#').Trim()));
                current = new Section(string.Join(" > ", headings.Select(h => h.Title)));
                sections.Add(current);
                current.Blocks.Add(new Block(lines[i].Start, lines[i].End, Atomic: false));
                i++;
                continue;
            }

            var fence = Fence().Match(line);
            if (fence.Success)
            {
                var marker = fence.Groups[1].Value;
                var j = i + 1;
                while (j < lines.Count && !IsClosingFence(text[lines[j].Start..lines[j].End].Trim(), marker))
                {
                    j++;
                }

                var last = Math.Min(j, lines.Count - 1);
                current.Blocks.Add(new Block(lines[i].Start, lines[last].End, Atomic: true));
                i = last + 1;
                continue;
            }

            var isTable = line.TrimStart().StartsWith('|');
            var k = i + 1;
            while (k < lines.Count)
            {
                var next = text[lines[k].Start..lines[k].End].TrimEnd('\r', '\n');
                if (string.IsNullOrWhiteSpace(next) || Heading().IsMatch(next) || Fence().IsMatch(next) || next.TrimStart().StartsWith('|') != isTable)
                {
                    break;
                }

                k++;
            }

            current.Blocks.Add(new Block(lines[i].Start, lines[k - 1].End, Atomic: isTable));
            i = k;
        }

        return [.. sections.Where(s => s.Blocks.Count > 0)];
    }

    private static bool IsClosingFence(string line, string marker) =>
        line.Length >= marker.Length && line.All(c => c == marker[0]);

    [GeneratedRegex(@"^ {0,3}(#{1,6})[ \t]+(.*)$", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Heading();

    [GeneratedRegex(@"^ {0,3}(`{3,}|~{3,})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Fence();

    private sealed record Block(int Start, int End, bool Atomic);

    private sealed class Section(string? headingPath)
    {
        public string? HeadingPath { get; } = headingPath;

        public List<Block> Blocks { get; } = [];
    }
}
