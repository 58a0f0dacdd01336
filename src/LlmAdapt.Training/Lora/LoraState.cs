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
        _byPlace = modules.ToDictionary(m => (m.Layer, m.Site));
        Parameters = new PinnedBuffer<T>(parameterCount);
        Gradients = new PinnedBuffer<T>(parameterCount);
        Scaling = T.CreateChecked(options.Scaling);
    }

    private readonly Dictionary<(int Layer, int Site), LoraModule<T>> _byPlace;

    public LoraOptions Options { get; }

    public IReadOnlyList<LoraModule<T>> Modules { get; }

    public PinnedBuffer<T> Parameters { get; }

    public PinnedBuffer<T> Gradients { get; }

    public T Scaling { get; }

    /// <summary>Gets or sets the random source for dropout masks.</summary>
    public Random DropoutRandom { get; set; } = new(0);

    /// <summary>Returns the adapter on projection <paramref name="site"/> of layer <paramref name="layer"/>, or null (a table lookup: forward and backward call it per projection).</summary>
    public LoraModule<T>? Find(int layer, int site) => _byPlace.GetValueOrDefault((layer, site));
}
