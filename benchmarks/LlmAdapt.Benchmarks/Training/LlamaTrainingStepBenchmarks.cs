using BenchmarkDotNet.Attributes;
using LlmAdapt.Training.Kernels;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models.Llama;
using LlmAdapt.Training.Optim;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>
/// One training step (forward, backward, AdamW) of a Llama-shaped model as wide as the GPT-2 pre-training model, on
/// B × T tokens: every weight (rank 0, the baseline) or LoRA adapters on all seven projections with the base frozen.
/// </summary>
[MemoryDiagnoser]
public class LlamaTrainingStepBenchmarks
{
    public static readonly LlamaConfig Config = new() { VocabSize = 50257, Layers = 4, Heads = 4, KeyValueHeads = 2, Channels = 128, IntermediateSize = 352, ContextLength = 128 };

    public const int Batch = 8;

    private LlamaModel<float>? _model;
    private AdamW<float>? _optimizer;
    private int[] _inputs = [];
    private int[] _targets = [];

    /// <summary>Gets or sets the LoRA rank; 0 trains every weight.</summary>
    [Params(0, 8)]
    public int LoraRank { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = new LlamaModel<float>(Config);
        _model.InitializeRandom(1);
        if (LoraRank > 0)
        {
            _model.AttachLora(new LoraOptions { Rank = LoraRank, Alpha = 2 * LoraRank }, seed: 3);
        }

        _optimizer = new AdamW<float>(_model.Trainable, weightDecay: 0.1);
        var random = new Random(2);
        var n = Batch * Config.ContextLength;
        _inputs = Enumerable.Range(0, n).Select(_ => random.Next(Config.VocabSize)).ToArray();
        _targets = Enumerable.Range(0, n).Select(_ => random.Next(Config.VocabSize)).ToArray();
    }

    [Benchmark]
    public double Engine_LlamaTrainingStep()
    {
        var loss = _model!.Forward(_inputs, _targets, Batch, Config.ContextLength);
        _model.ZeroGrad();
        _model.Backward();
        _optimizer!.ClipGradients(1.0);
        _optimizer.Step(1e-4);
        return loss;
    }
}
