using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Cli.Retrieval;

/// <summary>
/// Caches the embeddings of a list of texts on disk, keyed by the model and a hash of the texts, so evaluations and
/// benchmarks embed a corpus once. Files are written to a temporary name and renamed; a file that does not match
/// its announced size or checksum is ignored and rebuilt.
/// </summary>
internal static class EmbeddingCache
{
    public static string DefaultDirectory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "llmadapt", "embeddings");

    public static async Task<float[][]> GetOrCreateAsync(
        IEmbeddingGenerator<string, Embedding<float>> generator,
        string modelId,
        IReadOnlyList<string> texts,
        string directory,
        IProgress<int>? progress,
        CancellationToken cancellationToken)
    {
        var key = Key(modelId, texts);
        var path = Path.Combine(directory, key + ".f32");
        if (TryRead(path, texts.Count) is { } cached)
        {
            return cached;
        }

        var vectors = new float[texts.Count][];
        const int batch = 64;
        for (var start = 0; start < texts.Count; start += batch)
        {
            var embeddings = await generator.GenerateAsync(texts.Skip(start).Take(batch), cancellationToken: cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < embeddings.Count; i++)
            {
                vectors[start + i] = embeddings[i].Vector.ToArray();
            }

            progress?.Report(Math.Min(texts.Count, start + batch));
        }

        Write(path, vectors);
        return vectors;
    }

    private static string Key(string modelId, IReadOnlyList<string> texts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(modelId + "\n"));
        foreach (var text in texts)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..32];
    }

    private static float[][]? TryRead(string path, int count)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 40)
        {
            return null;
        }

        var n = BitConverter.ToInt32(bytes, 0);
        var dims = BitConverter.ToInt32(bytes, 4);
        if (n != count || dims <= 0 || bytes.Length != 8 + ((long)n * dims * 4) + 32
            || !SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
        {
            return null;
        }

        var vectors = new float[n][];
        for (var i = 0; i < n; i++)
        {
            vectors[i] = new float[dims];
            Buffer.BlockCopy(bytes, 8 + (i * dims * 4), vectors[i], 0, dims * 4);
        }

        return vectors;
    }

    private static void Write(string path, float[][] vectors)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var dims = vectors.Length == 0 ? 1 : vectors[0].Length;
        var bytes = new byte[8 + ((long)vectors.Length * dims * 4) + 32];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), vectors.Length);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), dims);
        for (var i = 0; i < vectors.Length; i++)
        {
            Buffer.BlockCopy(vectors[i], 0, bytes, 8 + (i * dims * 4), dims * 4);
        }

        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).CopyTo(bytes.AsSpan(bytes.Length - 32));
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
