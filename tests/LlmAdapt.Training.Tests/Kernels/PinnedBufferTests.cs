using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Tests.Kernels;

public sealed unsafe class PinnedBufferTests
{
    [Fact]
    public void EveryBuffer_StartsOnA64ByteBoundary_AndHoldsExactlyItsLength()
    {
        // Many allocations of assorted sizes: the managed heap places them at every 8-byte offset, so an unaligned
        // start would show up.
        var buffers = new List<object>();
        for (var length = 0; length < 200; length++)
        {
            var floats = new PinnedBuffer<float>(length * 7);
            var doubles = new PinnedBuffer<double>(length * 3);
            Assert.Equal(0, (long)floats.Pointer % PinnedBuffer<float>.Alignment);
            Assert.Equal(0, (long)doubles.Pointer % PinnedBuffer<double>.Alignment);
            Assert.Equal(length * 7, floats.Span.Length);
            Assert.Equal(length * 3, doubles.Memory.Length);
            fixed (float* first = floats.Span)
            {
                Assert.True(length == 0 || first == floats.Pointer);
            }

            buffers.Add(floats);
            buffers.Add(doubles);
        }

        GC.KeepAlive(buffers);
    }

    [Fact]
    public void Clear_ZeroesItsElements_AndNothingAfterThem()
    {
        var buffer = new PinnedBuffer<float>(10_000);
        buffer.Span.Fill(3f);

        // A sentinel in the spare element after the buffer (the array is allocated with room to align the start).
        buffer.Pointer[buffer.Length] = 7f;
        buffer.Clear();
        Assert.All(buffer.Span.ToArray(), x => Assert.Equal(0f, x));
        Assert.Equal(7f, buffer.Pointer[buffer.Length]);
    }

    [Fact]
    public void NegativeOrHugeLength_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PinnedBuffer<float>(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PinnedBuffer<float>(int.MaxValue));
    }
}
