namespace LlmAdapt.Training.Data;

/// <summary>
/// How an instruction example becomes text: the prompt template wraps the instruction (with its input, if any), the
/// answer follows it and is the only part that carries loss. Chat examples render each turn with
/// <see cref="TurnTemplate"/>; only assistant turns carry loss.
/// </summary>
public sealed record InstructionPromptFormat
{
    /// <summary>Gets the Alpaca format (the default).</summary>
    public static InstructionPromptFormat Alpaca { get; } = new()
    {
        PromptTemplate = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n",
        TurnTemplate = "### {role}:\n",
    };

    /// <summary>
    /// Gets the plain format: the prompt is the text as it is (no template), as <c>dpo</c> reads a pair's prompt, and chat
    /// turns start with "Role: ". For training on text that already carries its own turn markers, such as HH-RLHF's
    /// "\n\nHuman: … \n\nAssistant:" dialogues.
    /// </summary>
    public static InstructionPromptFormat Plain { get; } = new()
    {
        PromptTemplate = "{instruction}",
        TurnTemplate = "{role}: ",
    };

    /// <summary>Gets the template around an instruction; <c>{instruction}</c> is replaced by the example's prompt.</summary>
    public required string PromptTemplate { get; init; }

    /// <summary>Gets the header before each chat turn; <c>{role}</c> is replaced by the role (System, User, Assistant).</summary>
    public required string TurnTemplate { get; init; }

    /// <summary>Gets the text placed between an instruction and its input in the prompt.</summary>
    public string InputSeparator { get; init; } = "\n\n### Input:\n";

    /// <summary>
    /// Gets the most tokens a rendered prompt keeps, or <see langword="null"/> to keep it whole. A longer prompt loses
    /// tokens from its start, so the end of the prompt (the latest turn) stays next to the answer: the rule <c>dpo</c>
    /// applies to a pair's prompt. Applies to instruction examples, not to chat messages, wherever this format renders
    /// them (instruction tuning and its evaluation); <c>DpoTrainer</c> cuts prompts by <c>DpoOptions.MaxPromptTokens</c>
    /// instead.
    /// </summary>
    public int? MaxPromptTokens { get; init; }

    /// <summary>Renders an instruction (and its input) as the prompt text.</summary>
    /// <param name="instruction">The instruction, with any input already appended.</param>
    /// <returns>The prompt.</returns>
    public string RenderPrompt(string instruction) => PromptTemplate.Replace("{instruction}", instruction, StringComparison.Ordinal);

    /// <summary>Renders a chat turn header.</summary>
    /// <param name="role">The role name.</param>
    /// <returns>The header.</returns>
    public string RenderTurn(string role) => TurnTemplate.Replace("{role}", role, StringComparison.Ordinal);
}
