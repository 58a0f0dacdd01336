namespace LlmAdapt.Training.FineTuning;

/// <summary>The loss became NaN, infinite or exploded; training stopped and the last good checkpoint was kept.</summary>
public sealed class TrainingDivergedException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TrainingDivergedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the numbers.</summary>
    /// <param name="step">The step whose loss was bad.</param>
    /// <param name="loss">That loss.</param>
    /// <param name="lastCheckpointStep">The step of the last good checkpoint, or 0 when none was written.</param>
    /// <param name="checkpointPath">Where that checkpoint is.</param>
    public TrainingDivergedException(int step, double loss, int lastCheckpointStep, string checkpointPath)
        : base(lastCheckpointStep > 0
            ? $"Training diverged at step {step} (loss {loss}); stopped. The last good checkpoint (step {lastCheckpointStep}) is kept at {checkpointPath}. Lower the learning rate or raise warm-up."
            : $"Training diverged at step {step} (loss {loss}) before the first checkpoint; nothing was written to {checkpointPath}. Lower the learning rate or raise warm-up.")
    {
        Step = step;
        Loss = loss;
        LastCheckpointStep = lastCheckpointStep;
    }

    /// <summary>Gets the step whose loss was bad.</summary>
    public int Step { get; }

    /// <summary>Gets that loss.</summary>
    public double Loss { get; }

    /// <summary>Gets the step of the last good checkpoint, or 0.</summary>
    public int LastCheckpointStep { get; }
}
