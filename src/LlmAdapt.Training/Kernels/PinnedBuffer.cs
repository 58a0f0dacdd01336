using System.Runtime.CompilerServices;

namespace LlmAdapt.Training.Kernels;

/// <summary>An array pinned for its lifetime, so kernels can hold a raw pointer to it across threads.</summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed unsafe class PinnedBuffer<T>
    where T : unmanaged
{
    public PinnedBuffer(long length)
    {
        if (length is < 0 or > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"A buffer holds at most {int.MaxValue} elements.");
        }

        Array = GC.AllocateArray<T>((int)Math.Max(1, length), pinned: true);
        Length = (int)length;
        Pointer = (T*)Unsafe.AsPointer(ref Array[0]);
    }

    /// <summary>Gets the pinned array (it may be one element longer than <see cref="Length"/> when empty).</summary>
    public T[] Array { get; }

    /// <summary>Gets the number of elements in use.</summary>
    public int Length { get; }

    /// <summary>Gets the address of the first element.</summary>
    public T* Pointer { get; }

    /// <summary>Gets the elements as a span.</summary>
    public Span<T> Span => Array.AsSpan(0, Length);

    /// <summary>Sets every element to zero, in element-wise pieces on <paramref name="workers"/> (null: the calling thread).</summary>
    public void Clear(Workers? workers = null)
    {
        var array = Array;
        Layers.Elementwise(workers, Length, (start, count) => array.AsSpan(start, count).Clear());
    }
}
