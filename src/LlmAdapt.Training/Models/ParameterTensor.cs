namespace LlmAdapt.Training.Models;

/// <summary>One named tensor inside a model's flat parameter buffer, with its Hugging Face name and shape.</summary>
/// <param name="Name">The Hugging Face tensor name.</param>
/// <param name="Shape">The shape, as Hugging Face stores it.</param>
/// <param name="Offset">The first element in the flat buffer.</param>
internal sealed record ParameterTensor(string Name, long[] Shape, int Offset)
{
    /// <summary>Gets the number of elements.</summary>
    public int Length { get; } = checked((int)Shape.Aggregate(1L, (a, b) => a * b));

    /// <summary>Gets the shape as text for messages.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}
