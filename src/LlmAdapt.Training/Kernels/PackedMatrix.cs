using System.Numerics;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// A matrix product's right operand op(B) packed once (<see cref="MatMul.Pack{T}"/>) into the panels the micro-kernel
/// reads, for a B multiplied many times by unchanged values: what ONNX Runtime does with an initializer. A product
/// given it (<see cref="MatMul.Gemm{T}(T*, bool, T*, bool, T*, int, int, int, bool, Workers, PackedMatrix{T})"/>) reads
/// these panels instead of copying its slice of B into them for each task. The copy does not follow B: whoever holds
/// one drops it when B's values change.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed unsafe class PackedMatrix<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    internal PackedMatrix(T* source, bool transposed, int depth, int columns, MatMul.Kernel kernel, PinnedBuffer<T> panels)
    {
        Source = source;
        (Transposed, Depth, Columns, Kernel, Panels) = (transposed, depth, columns, kernel, panels);
    }

    /// <summary>Gets the address B was packed from (a product checks it is multiplying by the same matrix).</summary>
    public T* Source { get; }

    /// <summary>Gets whether B is stored [n, k] (op(B) = Bᵀ).</summary>
    public bool Transposed { get; }

    /// <summary>Gets k, op(B)'s rows.</summary>
    public int Depth { get; }

    /// <summary>Gets n, op(B)'s columns.</summary>
    public int Columns { get; }

    /// <summary>Gets the micro-kernel whose panel width the pack has (used only by products on that kernel).</summary>
    public MatMul.Kernel Kernel { get; }

    /// <summary>Gets the panels: per depth block, every NR-column panel over all n columns (zero-padded).</summary>
    public PinnedBuffer<T> Panels { get; }
}
