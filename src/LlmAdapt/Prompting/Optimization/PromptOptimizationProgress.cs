namespace LlmAdapt.Prompting.Optimization;

/// <summary>Reported after every instruction the optimiser scores.</summary>
/// <param name="Round">The round (0 for the seed instructions).</param>
/// <param name="ModelCalls">The model calls made so far.</param>
/// <param name="MaxModelCalls">The call budget.</param>
/// <param name="Latest">The instruction just scored.</param>
/// <param name="Best">The best instruction so far.</param>
public sealed record PromptOptimizationProgress(int Round, int ModelCalls, int MaxModelCalls, ScoredInstruction Latest, ScoredInstruction Best);
