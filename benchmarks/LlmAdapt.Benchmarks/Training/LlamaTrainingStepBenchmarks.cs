using BenchmarkDotNet.Attributes;
using LlmAdapt.Training.Models.Llama;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>
/// One training step (forward, backward, AdamW) of a Llama: the one as wide as the GPT-2 pre-training model (8 × 128
/// tokens, every weight or rank-8 LoRA on all seven projections), and SmolLM2-135M's shape with rank-16 LoRA on all
/// seven projections on one 256-token sequence.
/// </summary>
[MemoryDiagnoser]
public class LlamaTrainingStepBenchmarks
{
    private TrainingStep? _step;

    /// <summary>Gets or sets the model and LoRA rank: "small-r0", "small-r8" or "smollm2-r16".</summary>
    [Params("small-r0", "small-r8", "smollm2-r16")]
    public string Case { get; set; } = "small-r0";

    [GlobalSetup]
    public void Setup() => _step = Case switch
    {
        "small-r0" => new TrainingStep(new LlamaModel<float>(TrainingStep.SmallLlama), 128, 8, 128, 0),
        "small-r8" => new TrainingStep(new LlamaModel<float>(TrainingStep.SmallLlama), 128, 8, 128, 8),
        _ => new TrainingStep(new LlamaModel<float>(TrainingStep.SmolLm2), TrainingStep.SmolLm2.Channels, 1, 256, 16),
    };

    [Benchmark]
    public double Engine_LlamaTrainingStep() => _step!.Run();
}
