using BenchmarkDotNet.Attributes;
using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Benchmarks.Generation;

/// <summary>
/// The continuous batch's decode step: <see cref="Concurrent"/> greedy requests of 64 new ids, submitted together to a
/// model with <see cref="OnnxDecoderModelOptions.MaxBatchSize"/> 8, so each step decodes that many rows at once (the
/// prompt of each runs alone first). Time per operation over <see cref="Concurrent"/> × 64 ids gives the time per id;
/// with more rows per step it should fall. On the shared tiny GPT-2 (per-step overhead dominates) and on the
/// GPT-2-small shape (weights dominate).
/// </summary>
[MemoryDiagnoser]
public class BatchedDecodeBenchmarks
{
    private const int NewTokens = 64;
    private OnnxDecoderModel _model = null!;
    private int[][] _prompts = [];

    /// <summary>Gets or sets the model: <c>gpt2</c> (tiny-random-gpt2-fp32) or <c>gpt2small</c>.</summary>
    [Params("gpt2", "gpt2small")]
    public string Model { get; set; } = "gpt2";

    /// <summary>Gets or sets how many requests decode together.</summary>
    [Params(1, 8)]
    public int Concurrent { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        _model = OnnxDecoderModel.Load(GenerationBenchmarks.DirectoryOf(Model), new OnnxDecoderModelOptions { MaxBatchSize = 8 });
        var vocabulary = Math.Min(_model.VocabularySize, 1000);
        var random = new Random(7);
        _prompts = [.. Enumerable.Range(0, Concurrent).Select(i => Enumerable.Range(0, 4 + i).Select(_ => random.Next(vocabulary)).ToArray())];
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();

    [Benchmark]
    public GenerationResult[] Batched_GenerateAsync()
        => Task.WhenAll(_prompts.Select(p => _model.GenerateAsync(p, new GenerationOptions { MaxNewTokens = NewTokens }))).GetAwaiter().GetResult();
}
