using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Benchmarks.Retrieval;

/// <summary>
/// HNSW against exact search on real MiniLM embeddings: 51,000 unique SST-2 training phrases and
/// tinyshakespeare lines (50,000 indexed, 1,000 held out as queries), embedded once and cached under the repository's
/// gitignored <c>.llmadapt-cache/bench/</c>.
/// </summary>
internal static class HnswComparison
{
    private const int QueryCount = 1000;
    private const int TextCount = 51_000;

    public static async Task<(double Recall, double Speedup)> RunAsync()
    {
        var vectors = await LoadEmbeddingsAsync().ConfigureAwait(false);
        var dims = vectors[0].Length;
        var corpus = vectors.Length - QueryCount;
        using var flat = new FlatVectorIndex(dims);
        using var hnsw = new HnswVectorIndex(dims, new HnswOptions { M = 16, EfConstruction = 100, EfSearch = 64 });
        var build = Stopwatch.StartNew();
        for (var i = 0; i < corpus; i++)
        {
            hnsw.Upsert(i, vectors[i]);
        }

        build.Stop();
        for (var i = 0; i < corpus; i++)
        {
            flat.Upsert(i, vectors[i]);
        }

        var queries = vectors[corpus..];
        var exact = new HashSet<int>[queries.Length];

        // Warm both paths, then time them on the same queries.
        flat.Search(queries[0], 10);
        hnsw.Search(queries[0], 10);
        var flatWatch = Stopwatch.StartNew();
        for (var q = 0; q < queries.Length; q++)
        {
            exact[q] = [.. flat.Search(queries[q], 10).Select(r => r.Key)];
        }

        flatWatch.Stop();
        var hits = 0;
        var hnswWatch = Stopwatch.StartNew();
        var found = new ScoredKey[queries.Length][];
        for (var q = 0; q < queries.Length; q++)
        {
            found[q] = hnsw.Search(queries[q], 10);
        }

        hnswWatch.Stop();
        for (var q = 0; q < queries.Length; q++)
        {
            hits += found[q].Count(r => exact[q].Contains(r.Key));
        }

        var recall = hits / (10.0 * queries.Length);
        var speedup = flatWatch.Elapsed.TotalSeconds / hnswWatch.Elapsed.TotalSeconds;
        Console.WriteLine(FormattableString.Invariant(
            $"hnsw: {corpus} vectors x {dims}, M=16 efConstruction=100 efSearch=64, build {build.Elapsed.TotalSeconds:F1} s; exact {queries.Length / flatWatch.Elapsed.TotalSeconds:F0} q/s, hnsw {queries.Length / hnswWatch.Elapsed.TotalSeconds:F0} q/s, recall@10 {recall:F4}"));
        return (recall, speedup);
    }

    internal static async Task<float[][]> LoadEmbeddingsAsync()
    {
        var texts = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Data.PathOf("classification/sst2/train.tsv")).Skip(1))
        {
            var sentence = line.Split('\t')[0].Trim();
            if (sentence.Length > 0 && seen.Add(sentence))
            {
                texts.Add(sentence);
            }
        }

        foreach (var line in File.ReadLines(Data.PathOf("corpus/tinyshakespeare/input.txt")))
        {
            var text = line.Trim();
            if (text.Length > 20 && seen.Add(text))
            {
                texts.Add(text);
            }
        }

        // A fixed shuffle (seed 5) mixes both sources before the cap, so held-out queries look like the corpus.
        var random = new Random(5);
        texts = [.. texts.OrderBy(_ => random.Next()).Take(TextCount)];
        var cache = Path.Combine(RepositoryRoot(), ".llmadapt-cache", "bench");
        Directory.CreateDirectory(cache);
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', texts))))[..16];
        var path = Path.Combine(cache, $"minilm-sst2-shakespeare-{key}.f32");
        if (File.Exists(path))
        {
            var bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
            var count = BitConverter.ToInt32(bytes, 0);
            var dims = BitConverter.ToInt32(bytes, 4);
            if (count == texts.Count && bytes.Length == 8 + ((long)count * dims * 4))
            {
                var result = new float[count][];
                for (var i = 0; i < count; i++)
                {
                    result[i] = new float[dims];
                    Buffer.BlockCopy(bytes, 8 + (i * dims * 4), result[i], 0, dims * 4);
                }

                return result;
            }
        }

        Console.WriteLine($"embedding {texts.Count} texts with all-MiniLM-L6-v2 (once; cached in {path})");
        using var generator = OnnxEmbeddingGenerator.CreateDefault();
        var vectors = new float[texts.Count][];
        var watch = Stopwatch.StartNew();
        for (var start = 0; start < texts.Count; start += 256)
        {
            var batch = await generator.GenerateAsync(texts.Skip(start).Take(256)).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++)
            {
                vectors[start + i] = batch[i].Vector.ToArray();
            }

            if (start % 10240 == 0)
            {
                Console.WriteLine(FormattableString.Invariant($"  {start + batch.Count}/{texts.Count} in {watch.Elapsed.TotalSeconds:F0} s"));
            }
        }

        var dimensions = vectors[0].Length;
        var output = new byte[8 + ((long)vectors.Length * dimensions * 4)];
        BitConverter.TryWriteBytes(output.AsSpan(0), vectors.Length);
        BitConverter.TryWriteBytes(output.AsSpan(4), dimensions);
        for (var i = 0; i < vectors.Length; i++)
        {
            Buffer.BlockCopy(vectors[i], 0, output, 8 + (i * dimensions * 4), dimensions * 4);
        }

        var temp = path + ".tmp";
        await File.WriteAllBytesAsync(temp, output).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
        return vectors;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
