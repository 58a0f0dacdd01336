namespace LlmAdapt.Training.Models;

/// <summary>A run of trainable values and their gradients that the optimiser updates together.</summary>
/// <param name="Name">The tensor name (for messages and optimizer state).</param>
/// <param name="Values">The array holding the values.</param>
/// <param name="Gradients">The array holding the gradients, same layout.</param>
/// <param name="Offset">The first element.</param>
/// <param name="Length">The number of elements.</param>
/// <param name="Decay">Whether weight decay applies (matrices yes; biases, norms no).</param>
internal sealed record TrainableSlice<T>(string Name, T[] Values, T[] Gradients, int Offset, int Length, bool Decay)
    where T : unmanaged;
