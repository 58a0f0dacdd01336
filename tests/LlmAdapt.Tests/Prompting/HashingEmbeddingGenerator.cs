using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Prompting;

/// <summary>
/// An embedding double until the local ONNX MiniLM generator is on main: a hashed bag of lower-cased words (FNV-1a into
/// 512 buckets), so sentences sharing words are similar. Counts calls and inputs.
/// </summary>
internal sealed partial class HashingEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const int Dimensions = 512;

    private int _calls;
    private int _inputs;

    public int Calls => _calls;

    public int Inputs => _inputs;

    public static float[] Embed(string text)
    {
        var vector = new float[Dimensions];
        foreach (Match word in Words().Matches(text.ToLowerInvariant()))
        {
            var hash = 2166136261u;
            foreach (var c in word.Value)
            {
                hash = (hash ^ c) * 16777619u;
            }

            vector[hash % Dimensions] += 1;
        }

        return vector;
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            Interlocked.Increment(ref _inputs);
            result.Add(new Embedding<float>(Embed(value)));
        }

        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    [GeneratedRegex(@"[a-z0-9']+", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Words();
}
