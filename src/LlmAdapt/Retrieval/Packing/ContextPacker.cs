using LlmAdapt.Diagnostics;
using LlmAdapt.Tokens;

namespace LlmAdapt.Retrieval.Packing;

/// <summary>
/// Chooses retrieved chunks, in rank order, to fill a token budget: a chunk already packed (same id or same text) is
/// skipped, the part of a chunk that overlaps a packed chunk of the same document is cut away, and a passage that
/// does not fit is passed over for later, smaller ones. Each passage is numbered and fenced as untrusted data.
/// </summary>
/// <param name="counter">Counts tokens as the target model does.</param>
public sealed class ContextPacker(TokenCounter counter)
{
    private readonly TokenCounter _counter = counter ?? throw new ArgumentNullException(nameof(counter));

    /// <summary>Gets the token counter.</summary>
    public TokenCounter Counter => _counter;

    /// <summary>Packs <paramref name="retrieved"/> into at most <paramref name="maxTokens"/> tokens.</summary>
    /// <param name="retrieved">The chunks, best first.</param>
    /// <param name="maxTokens">The budget for the packed text; at least 1.</param>
    /// <returns>The packed context (possibly with no passage when none fits).</returns>
    public PackedContext Pack(IReadOnlyList<RetrievedChunk> retrieved, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(retrieved);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        using var activity = LlmAdaptTelemetry.ActivitySource.StartActivity("context_packing");
        var packed = PackCore(retrieved, maxTokens);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("llmadapt.packing.budget_tokens", maxTokens);
            activity.SetTag("llmadapt.packing.candidates", retrieved.Count);
            activity.SetTag("llmadapt.packing.passages", packed.Passages.Count);
            activity.SetTag("llmadapt.packing.tokens", packed.TokenCount);
        }

        return packed;
    }

    // Untraced: the strategy's probe of the frame's size is not a packing step a user would look for.
    internal PackedContext PackCore(IReadOnlyList<RetrievedChunk> retrieved, int maxTokens)
    {
        var fence = Fence.Create();
        var passages = new List<PackedPassage>();
        var blocks = new List<string>();
        var seenIds = new HashSet<string>(StringComparer.Ordinal);
        var seenTexts = new HashSet<string>(StringComparer.Ordinal);
        var spans = new Dictionary<string, List<(int Start, int End)>>(StringComparer.Ordinal);
        var used = 0;
        foreach (var item in retrieved)
        {
            var chunk = item.Chunk;
            if (!seenIds.Add(chunk.Id))
            {
                continue;
            }

            var (text, start, end) = RemoveOverlap(chunk, spans.GetValueOrDefault(chunk.DocumentId));
            var key = text.Trim();
            if (key.Length == 0 || !seenTexts.Add(key))
            {
                continue;
            }

            var block = fence.Wrap(passages.Count + 1, chunk.Source ?? chunk.DocumentId, text);
            var separator = blocks.Count == 0 ? 0 : 1;
            var cost = _counter.CountTokens(block) + separator;
            if (used + cost > maxTokens)
            {
                seenTexts.Remove(key);
                continue;
            }

            used += cost;
            blocks.Add(block);
            if (!spans.TryGetValue(chunk.DocumentId, out var list))
            {
                spans[chunk.DocumentId] = list = [];
            }

            list.Add((start, end));
            passages.Add(new PackedPassage
            {
                Number = passages.Count + 1,
                Retrieved = item,
                Text = text,
                Citation = Citation.For(chunk) with { StartOffset = start, EndOffset = end },
                TokenCount = cost,
            });
        }

        var packed = string.Join('\n', blocks);
        return new PackedContext(packed, fence.Instruction, passages, passages.Count == 0 ? 0 : _counter.CountTokens(packed));
    }

    // Cuts away the part of the chunk that a packed chunk of the same document already covers. Only possible when
    // the chunk's text is exactly its span of the document; otherwise an overlapping chunk is dropped whole.
    private static (string Text, int Start, int End) RemoveOverlap(DocumentChunk chunk, List<(int Start, int End)>? packed)
    {
        var start = chunk.StartOffset;
        var end = chunk.EndOffset;
        if (packed is null || end <= start)
        {
            return (chunk.Text, start, end);
        }

        var exact = chunk.Text.Length == end - start;
        foreach (var (s, e) in packed)
        {
            if (e <= start || s >= end)
            {
                continue;
            }

            if (!exact)
            {
                return (string.Empty, start, start);
            }

            if (s <= start && e >= end)
            {
                return (string.Empty, start, start);
            }

            if (s <= start)
            {
                start = e;
            }
            else if (e >= end)
            {
                end = s;
            }
            else
            {
                // A packed span inside this chunk: keep the longer side.
                if (s - start >= end - e)
                {
                    end = s;
                }
                else
                {
                    start = e;
                }
            }
        }

        return end <= start ? (string.Empty, start, start) : (chunk.Text.Substring(start - chunk.StartOffset, end - start), start, end);
    }
}
