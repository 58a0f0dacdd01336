using BenchmarkDotNet.Attributes;
using LlmAdapt.Tokens;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Benchmarks.Tokens;

/// <summary>LlmAdapt's <see cref="TokenCounter"/> against calling Microsoft.ML.Tokenizers directly on the same text.</summary>
[MemoryDiagnoser]
public class TokenCountingBenchmarks
{
    private TokenCounter _counter = null!;
    private Tokenizer _tokenizer = null!;
    private string[] _paragraphs = [];

    /// <summary>The encoding measured.</summary>
    [Params("gpt-4o", "gpt-4")]
    public string Model { get; set; } = "gpt-4o";

    [GlobalSetup]
    public void Setup()
    {
        _counter = TokenCounter.ForModel(Model);
        _tokenizer = TiktokenTokenizer.CreateForModel(Model);
        var text = File.ReadAllText(TestData.PathOf("corpus/tinyshakespeare/input.txt"));
        _paragraphs = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Take(2000).ToArray();
    }

    [Benchmark(Baseline = true)]
    public long Tokenizer_Direct()
    {
        long total = 0;
        foreach (var p in _paragraphs)
        {
            total += _tokenizer.CountTokens(p);
        }

        return total;
    }

    [Benchmark]
    public long TokenCounter_LlmAdapt()
    {
        long total = 0;
        foreach (var p in _paragraphs)
        {
            total += _counter.CountTokens(p);
        }

        return total;
    }
}
