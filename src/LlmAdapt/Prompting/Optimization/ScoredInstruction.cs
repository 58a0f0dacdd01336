namespace LlmAdapt.Prompting.Optimization;

/// <summary>An instruction the optimiser tried and its mean dev-set score.</summary>
/// <param name="Instruction">The instruction (the system message of every dev-set call).</param>
/// <param name="Score">The mean metric over the dev set, from 0 to 1.</param>
/// <param name="Round">0 for the seed instructions, then the round that proposed it.</param>
public sealed record ScoredInstruction(string Instruction, double Score, int Round);
