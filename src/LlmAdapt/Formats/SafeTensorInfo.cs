namespace LlmAdapt.Formats;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its shape; an empty shape is a scalar.</param>
/// <param name="Offset">The offset of its first byte in the data section.</param>
/// <param name="Length">Its length in bytes.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorDType DType, IReadOnlyList<long> Shape, long Offset, long Length)
{
    /// <summary>Gets the number of elements (the product of the shape).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Gets the shape as text, for error messages: <c>[768, 2304]</c>.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}
