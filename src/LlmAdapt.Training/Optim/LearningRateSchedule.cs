namespace LlmAdapt.Training.Optim;

/// <summary>Linear warm-up to the peak rate, then cosine decay to a floor at the last step.</summary>
/// <param name="PeakRate">The rate reached after warm-up.</param>
/// <param name="MinRate">The rate at the last step.</param>
/// <param name="WarmupSteps">Steps of linear warm-up.</param>
/// <param name="TotalSteps">All steps of the run.</param>
internal sealed record LearningRateSchedule(double PeakRate, double MinRate, int WarmupSteps, int TotalSteps)
{
    /// <summary>Returns the rate for a 1-based step.</summary>
    public double At(int step)
    {
        if (step <= WarmupSteps)
        {
            return PeakRate * step / Math.Max(1, WarmupSteps);
        }

        if (step >= TotalSteps)
        {
            return MinRate;
        }

        var progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return MinRate + (0.5 * (PeakRate - MinRate) * (1 + Math.Cos(Math.PI * progress)));
    }
}
