using BenchmarkDotNet.Attributes;
using LlmAdapt.Training.Kernels;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Optim;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>One training step (forward, backward, AdamW) of the pre-training model on B × T tokens.</summary>
public class TrainingStepBenchmarks
{
    public static readonly Gpt2Config Config = new() { Layers = 4, Heads = 4, Channels = 128, ContextLength = 128 };

    public const int Batch = 8;

    private Gpt2Model<float>? _model;
    private AdamW<float>? _optimizer;
    private int[] _inputs = [];
    private int[] _targets = [];

    /// <summary>Gets the tokens one step trains on.</summary>
    public static int TokensPerStep => Batch * Config.ContextLength;

    /// <summary>Gets the model FLOPs per trained token: 6 per matrix parameter (head included) plus attention's 12·L·T·C.</summary>
    public static double FlopsPerToken
    {
        get
        {
            double c = Config.Channels, l = Config.Layers, t = Config.ContextLength, v = Config.VocabSize;
            return (6 * ((12 * l * c * c) + (v * c))) + (12 * l * t * c);
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _model = new Gpt2Model<float>(Config);
        _model.InitializeRandom(1);
        _optimizer = new AdamW<float>(_model.Trainable, weightDecay: 0.1);
        var random = new Random(2);
        _inputs = Enumerable.Range(0, TokensPerStep).Select(_ => random.Next(Config.VocabSize)).ToArray();
        _targets = Enumerable.Range(0, TokensPerStep).Select(_ => random.Next(Config.VocabSize)).ToArray();
    }

    [Benchmark]
    public double Engine_TrainingStep()
    {
        var loss = _model!.Forward(_inputs, _targets, Batch, Config.ContextLength);
        _model.ZeroGrad();
        _model.Backward();
        _optimizer!.ClipGradients(1.0);
        _optimizer.Step(1e-4);
        return loss;
    }
}
