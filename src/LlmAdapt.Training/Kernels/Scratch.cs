namespace LlmAdapt.Training.Kernels;

/// <summary>
/// Each thread's scratch buffers for the kernels, one per use, kept between calls and grown when a larger one is
/// needed; each starts on a 64-byte boundary (<see cref="PinnedBuffer{T}"/>), so no vector load or store splits a cache
/// line. A use holds its buffer only within one kernel call on its thread; uses that nest (attention calling the matrix
/// multiply) take different buffers.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal static unsafe class Scratch<T>
    where T : unmanaged
{
    [ThreadStatic]
    private static PinnedBuffer<T>? t_a;

    [ThreadStatic]
    private static PinnedBuffer<T>? t_b;

    [ThreadStatic]
    private static PinnedBuffer<T>? t_edge;

    [ThreadStatic]
    private static PinnedBuffer<T>? t_columns;

    [ThreadStatic]
    private static PinnedBuffer<T>? t_attention;

    /// <summary>A packed panel of A (the matrix multiply's short last rows, and the AVX2 kernel's panels).</summary>
    public static T* A(int length) => Get(ref t_a, length);

    /// <summary>The packed panels of B for one task's depth block.</summary>
    public static T* B(int length) => Get(ref t_b, length);

    /// <summary>One micro-tile, for tiles stored partly or transposed.</summary>
    public static T* Edge(int length) => Get(ref t_edge, length);

    /// <summary>The columns of a narrow B as rows, for the dot-product route (held by the calling thread for one call).</summary>
    public static T* Columns(int length) => Get(ref t_columns, length);

    /// <summary>An attention head's score-gradient block (an output of the matrix multiply, so its rows are stored whole).</summary>
    public static T* Attention(int length) => Get(ref t_attention, length);

    private static T* Get(ref PinnedBuffer<T>? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = new PinnedBuffer<T>(length);
        }

        return buffer.Pointer;
    }
}
