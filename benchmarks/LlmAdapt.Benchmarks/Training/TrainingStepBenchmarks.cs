using BenchmarkDotNet.Attributes;
using LlmAdapt.Training.Models.Gpt2;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>One training step (forward, backward, AdamW) of the pre-training GPT-2 on 8 × 128 tokens: every weight, or rank-8 LoRA.</summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private TrainingStep? _step;

    /// <summary>Gets or sets the LoRA rank; 0 trains every weight.</summary>
    [Params(0, 8)]
    public int LoraRank { get; set; }

    [GlobalSetup]
    public void Setup() => _step = new TrainingStep(new Gpt2Model<float>(TrainingStep.Gpt2), TrainingStep.Gpt2.Channels, 8, 128, LoraRank);

    [Benchmark]
    public double Engine_TrainingStep() => _step!.Run();
}
