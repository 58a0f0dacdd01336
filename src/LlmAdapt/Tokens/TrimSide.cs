namespace LlmAdapt.Tokens;

/// <summary>Which end of a text is cut when it is trimmed to a number of tokens.</summary>
public enum TrimSide
{
    /// <summary>Keep the beginning, cut the end.</summary>
    End,

    /// <summary>Keep the end, cut the beginning.</summary>
    Start,
}
