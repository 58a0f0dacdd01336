using System.Numerics;
using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Lora;

/// <summary>The adapters attached to a model: options, modules, and one flat buffer of A and B values with gradients.</summary>
internal sealed class LoraState<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public LoraState(LoraOptions options, IReadOnlyList<LoraModule<T>> modules, int parameterCount)
    {
        Options = options;
        Modules = modules;
        Parameters = new PinnedBuffer<T>(parameterCount);
        Gradients = new PinnedBuffer<T>(parameterCount);
        Scaling = T.CreateChecked(options.Scaling);
    }

    public LoraOptions Options { get; }

    public IReadOnlyList<LoraModule<T>> Modules { get; }

    public PinnedBuffer<T> Parameters { get; }

    public PinnedBuffer<T> Gradients { get; }

    public T Scaling { get; }

    /// <summary>Gets or sets the random source for dropout masks.</summary>
    public Random DropoutRandom { get; set; } = new(0);

    public LoraModule<T>? Find(int layer, int site) => Modules.FirstOrDefault(m => m.Layer == layer && m.Site == site);
}
