namespace LlmAdapt.Training.Models;

/// <summary>A run of trainable values and their gradients that the optimiser updates together.</summary>
/// <param name="Name">The tensor name (for messages and optimizer state).</param>
/// <param name="Values">The values.</param>
/// <param name="Gradients">The gradients, as many as <paramref name="Values"/>, same layout.</param>
/// <param name="Decay">Whether weight decay applies (matrices yes; biases, norms no).</param>
internal sealed record TrainableSlice<T>(string Name, Memory<T> Values, Memory<T> Gradients, bool Decay)
    where T : unmanaged
{
    /// <summary>Gets the number of elements.</summary>
    public int Length => Values.Length;
}
