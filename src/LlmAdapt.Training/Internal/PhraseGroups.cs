namespace LlmAdapt.Training.Internal;

/// <summary>
/// Groups texts by the longest text they are a word-level span of. Phrase-level datasets such as SST-2 label every
/// phrase of a sentence as well as the sentence: a random split then puts "a charming journey" in training and
/// "it 's a charming and often affecting journey ." in validation, and validation accuracy flatters a model that has
/// memorised phrases. Holding out whole groups keeps validation like unseen text.
/// </summary>
internal static class PhraseGroups
{
    /// <summary>
    /// Returns, for each text, the index of its group's root: the longest text (by words; the first on ties) that
    /// contains it as a contiguous run of whitespace-separated words. A text contained in none is its own root.
    /// </summary>
    public static int[] Assign(IReadOnlyList<string> texts)
    {
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokens = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            var words = texts[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var ids = new int[words.Length];
            for (var w = 0; w < words.Length; w++)
            {
                if (!vocabulary.TryGetValue(words[w], out ids[w]))
                {
                    ids[w] = vocabulary.Count;
                    vocabulary[words[w]] = ids[w];
                }
            }

            tokens[i] = ids;
        }

        // Longest first, so a phrase meets every text that could contain it as a root before it is looked up.
        var order = Enumerable.Range(0, texts.Count).OrderByDescending(i => tokens[i].Length).ThenBy(i => i).ToArray();
        var spans = new Dictionary<ulong, int>();
        var root = new int[texts.Count];
        foreach (var i in order)
        {
            var ids = tokens[i];
            if (ids.Length > 0 && spans.TryGetValue(Hash(ids, 0, ids.Length), out var owner))
            {
                root[i] = owner;
                continue;
            }

            root[i] = i;
            for (var start = 0; start < ids.Length; start++)
            {
                ulong h = 1469598103934665603UL;
                for (var end = start; end < ids.Length; end++)
                {
                    h = Step(h, ids[end]);
                    spans.TryAdd(Finish(h, end - start + 1), i);
                }
            }
        }

        return root;
    }

    /// <summary>Splits indices into training and held-out by whole groups, holding out about <paramref name="fraction"/> of the texts.</summary>
    public static (int[] Train, int[] Held) Split(int[] roots, double fraction, Random random)
    {
        var groups = roots.Select((r, i) => (r, i)).GroupBy(x => x.r).Select(g => g.Select(x => x.i).ToArray()).OrderBy(g => g[0]).ToArray();
        random.Shuffle(groups);
        var target = (int)Math.Round(roots.Length * fraction);
        var held = new List<int>();
        var train = new List<int>();
        foreach (var group in groups)
        {
            (held.Count < target ? held : train).AddRange(group);
        }

        held.Sort();
        train.Sort();
        return (train.ToArray(), held.ToArray());
    }

    private static ulong Hash(int[] ids, int start, int length)
    {
        ulong h = 1469598103934665603UL;
        for (var k = start; k < start + length; k++)
        {
            h = Step(h, ids[k]);
        }

        return Finish(h, length);
    }

    private static ulong Step(ulong h, int id) => (h ^ (uint)id) * 1099511628211UL * 0x9E3779B97F4A7C15UL;

    private static ulong Finish(ulong h, int length)
    {
        h ^= (ulong)length * 0xC2B2AE3D27D4EB4FUL;
        h ^= h >> 31;
        return h * 0xD6E8FEB86659FD93UL;
    }
}
