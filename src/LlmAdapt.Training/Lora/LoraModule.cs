using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Lora;

/// <summary>One adapted projection: A (rank, in) and B (out, rank) in the adapter's flat buffer, plus its activations.</summary>
internal sealed class LoraModule<T>
    where T : unmanaged
{
    public required string Name { get; init; }

    public required int Layer { get; init; }

    public required int Site { get; init; }

    public required int InFeatures { get; init; }

    public required int OutFeatures { get; init; }

    public required int OffsetA { get; init; }

    public required int OffsetB { get; init; }

    /// <summary>Gets or sets h = scale · dropout(x) · Aᵀ, (N, rank), kept for backward.</summary>
    public PinnedBuffer<T>? Hidden { get; set; }

    /// <summary>Gets or sets the dropped-out input (N, in), or null without dropout.</summary>
    public PinnedBuffer<T>? DroppedInput { get; set; }

    /// <summary>Gets or sets the dropout mask (N, in): 0 or 1 / (1 − p).</summary>
    public PinnedBuffer<T>? Mask { get; set; }

    /// <summary>Gets or sets the backward's scratch for dh (N, rank).</summary>
    public PinnedBuffer<T>? HiddenGradient { get; set; }

    /// <summary>Gets or sets the backward's scratch for the input gradient before the mask (N, in), or null without dropout.</summary>
    public PinnedBuffer<T>? InputGradient { get; set; }
}
