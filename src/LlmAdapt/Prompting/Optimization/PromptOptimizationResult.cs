namespace LlmAdapt.Prompting.Optimization;

/// <summary>What a prompt optimisation found.</summary>
public sealed record PromptOptimizationResult
{
    /// <summary>Gets the best instruction (the first one found with the best score), or empty when none could be scored.</summary>
    public required string BestInstruction { get; init; }

    /// <summary>Gets its mean dev-set score, from 0 to 1.</summary>
    public required double BestScore { get; init; }

    /// <summary>Gets every instruction scored, in the order scored.</summary>
    public required IReadOnlyList<ScoredInstruction> History { get; init; }

    /// <summary>Gets the model calls made, proposals and scoring together.</summary>
    public required int ModelCalls { get; init; }

    /// <summary>Gets how many proposal rounds ran after the seeds were scored.</summary>
    public required int Rounds { get; init; }

    /// <summary>Gets why it stopped.</summary>
    public required OptimizationStopReason StopReason { get; init; }
}
