namespace LlmAdapt.Retrieval.Indexes;

internal static class VectorChecks
{
    public static void CheckLength(ReadOnlySpan<float> vector, int dimensions, string name)
    {
        if (vector.Length != dimensions)
        {
            throw new ArgumentException($"The vector '{name}' has {vector.Length} dimensions but the index holds {dimensions}-dimensional vectors.", name);
        }
    }

    /// <summary>Scales <paramref name="vector"/> to unit length in place; a zero vector stays zero.</summary>
    public static void Normalize(Span<float> vector)
    {
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(vector);
        if (norm > 0 && float.IsFinite(norm))
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
        }
    }
}
