namespace LlmAdapt.Prompting.Optimization;

/// <summary>Why a prompt optimisation stopped.</summary>
public enum OptimizationStopReason
{
    /// <summary>An instruction reached the target score.</summary>
    TargetReached,

    /// <summary>The next step would have gone over the call budget.</summary>
    CallBudget,

    /// <summary>The best score did not improve for the set number of rounds.</summary>
    NoImprovement,

    /// <summary>The set number of rounds ran.</summary>
    MaxRounds,
}
