using System.Runtime.InteropServices;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// Unmanaged memory sized once per request; ONNX Runtime reads and writes it through <c>OrtValue</c> views, so no
/// pinning or garbage-collector traffic happens per token.
/// </summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    public NativeBuffer(long bytes)
    {
        // Never zero bytes: a zero-length past still needs a valid pointer for ONNX Runtime.
        Bytes = Math.Max(bytes, 64);
        Pointer = (nint)NativeMemory.AlignedAlloc((nuint)Bytes, 64);
        NativeMemory.Clear((void*)Pointer, (nuint)Bytes);
    }

    public nint Pointer { get; private set; }

    public long Bytes { get; }

    public Span<T> AsSpan<T>(int count)
        where T : unmanaged
    {
        if ((long)count * sizeof(T) > Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} elements of {sizeof(T)} bytes exceed the buffer of {Bytes} bytes.");
        }

        return new Span<T>((void*)Pointer, count);
    }

    public void Dispose()
    {
        if (Pointer != 0)
        {
            NativeMemory.AlignedFree((void*)Pointer);
            Pointer = 0;
        }
    }
}
