namespace LlmAdapt.Prompting.Reasoning;

/// <summary>Published reasoning cues, appended after the task; a host may use its own text instead.</summary>
public static class ReasoningCues
{
    /// <summary>Zero-shot chain of thought (Kojima et al., 2022).</summary>
    public const string StepByStep = "Let's think step by step.";

    /// <summary>The best instruction OPRO found for PaLM 2 on GSM8K (Yang et al., 2023).</summary>
    public const string DeepBreath = "Take a deep breath and work on this problem step-by-step.";

    /// <summary>The instruction that asks for the answer on a marker line, matching <see cref="MarkerAnswerExtractor"/>'s default.</summary>
    public const string AnswerLine = "After your reasoning, give the final answer on its own last line, starting with \"Answer:\".";
}
