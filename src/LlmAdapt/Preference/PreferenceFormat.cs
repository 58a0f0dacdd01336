namespace LlmAdapt.Preference;

/// <summary>The JSONL shapes of preference data that <see cref="PreferenceDataReader"/> and <see cref="PreferenceDataWriter"/> handle.</summary>
public enum PreferenceFormat
{
    /// <summary>Read: decide per line from the fields present. Not valid for writing.</summary>
    Auto,

    /// <summary>Hugging Face TRL, explicit prompt: <c>{"prompt", "chosen", "rejected"}</c> (strings, or TRL's conversational message lists when reading).</summary>
    TrlExplicit,

    /// <summary>
    /// Hugging Face TRL, implicit prompt, as in Anthropic HH-RLHF: <c>{"chosen", "rejected"}</c>, each the whole dialogue;
    /// the prompt is the shared prefix up to the last <c>Assistant:</c> turn both share.
    /// </summary>
    TrlImplicit,

    /// <summary>
    /// OpenAI preference fine-tuning (DPO) JSONL: <c>{"input": {"messages": [...]}, "preferred_output": [...], "non_preferred_output": [...]}</c>.
    /// </summary>
    OpenAI,
}
