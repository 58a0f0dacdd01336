namespace LlmAdapt.Tokens;

/// <summary>What a <see cref="TokenBudget"/> does with a prompt that does not fit.</summary>
public enum TokenBudgetOverflow
{
    /// <summary>Refuse: throw <see cref="TokenBudgetExceededException"/> with the numbers.</summary>
    Throw,

    /// <summary>
    /// Drop whole messages, oldest first, keeping every system message and the last message; if the prompt still
    /// does not fit, trim the end of the last message's text; if even that cannot fit, throw.
    /// </summary>
    DropOldestMessages,

    /// <summary>Trim the end of the last message's text at a token boundary; if the rest alone does not fit, throw.</summary>
    TruncateLastMessage,
}
