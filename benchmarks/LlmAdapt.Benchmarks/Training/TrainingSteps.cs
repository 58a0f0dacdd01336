using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Models.Llama;
using LlmAdapt.Training.Optim;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>
/// One training step (forward, backward, clip, AdamW) of a decoder on B × T random tokens, with its model FLOPs per
/// token: 6 per matrix parameter (head included) plus 12·L·T·C for attention when every weight trains; with LoRA, 4
/// per frozen matrix parameter (forward and input gradient, no weight gradient), 6 per adapter parameter, plus attention.
/// </summary>
internal sealed class TrainingStep
{
    private readonly DecoderModel<float> _model;
    private readonly AdamW<float> _optimizer;
    private readonly int[] _inputs;
    private readonly int[] _targets;

    public TrainingStep(DecoderModel<float> model, int channels, int batch, int sequence, int loraRank, int threads = 0)
    {
        _model = model;
        _model.InitializeRandom(1);
        _model.Threads = threads;
        if (loraRank > 0)
        {
            _model.AttachLora(new LoraOptions { Rank = loraRank, Alpha = 2 * loraRank }, seed: 3);
        }

        _optimizer = new AdamW<float>(_model.Trainable, weightDecay: 0.1) { Workers = _model.Workers };
        Batch = batch;
        Sequence = sequence;
        var random = new Random(2);
        _inputs = Enumerable.Range(0, batch * sequence).Select(_ => random.Next(model.VocabSize)).ToArray();
        _targets = Enumerable.Range(0, batch * sequence).Select(_ => random.Next(model.VocabSize)).ToArray();
        double matrices = (model.LayerCount * model.Sites.Sum(s => (double)s.In * s.Out)) + ((double)model.VocabSize * channels);
        var attention = 12.0 * model.LayerCount * sequence * channels;
        FlopsPerToken = model.Lora is { } lora
            ? (4 * matrices) + (6 * lora.Modules.Sum(m => (double)lora.Options.Rank * (m.InFeatures + m.OutFeatures))) + attention
            : (6 * matrices) + attention;
    }

    /// <summary>Gets the 4-layer, 128-wide GPT-2 of the pre-training example (B = 8, T = 128).</summary>
    public static Gpt2Config Gpt2 { get; } = new() { Layers = 4, Heads = 4, Channels = 128, ContextLength = 128 };

    /// <summary>Gets a Llama as wide as <see cref="Gpt2"/> (4 query / 2 key-value heads, SwiGLU 352).</summary>
    public static LlamaConfig SmallLlama { get; } = new() { VocabSize = 50257, Layers = 4, Heads = 4, KeyValueHeads = 2, Channels = 128, IntermediateSize = 352, ContextLength = 128 };

    /// <summary>Gets SmolLM2-135M's shape (30 layers, 576 wide, 9 query / 3 key-value heads, SwiGLU 1,536, 49,152 tokens, tied head).</summary>
    public static LlamaConfig SmolLm2 { get; } = new() { ContextLength = 2048 };

    public int Batch { get; }

    public int Sequence { get; }

    public int TokensPerStep => Batch * Sequence;

    public double FlopsPerToken { get; }

    public double Run()
    {
        var loss = _model.Forward(_inputs, _targets, Batch, Sequence);
        _model.ZeroGrad();
        _model.Backward();
        _optimizer.ClipGradients(1.0);
        _optimizer.Step(1e-4);
        return loss;
    }
}
