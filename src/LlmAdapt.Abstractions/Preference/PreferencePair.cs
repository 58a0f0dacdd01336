namespace LlmAdapt.Preference;

/// <summary>A judgement that one response to a prompt is better than another.</summary>
public sealed record PreferencePair
{
    /// <summary>Gets the prompt (or the shared dialogue prefix).</summary>
    public required string Prompt { get; init; }

    /// <summary>Gets the preferred response.</summary>
    public required string Chosen { get; init; }

    /// <summary>Gets the dispreferred response.</summary>
    public required string Rejected { get; init; }

    /// <summary>Gets how strongly <see cref="Chosen"/> is preferred (for example a score or rank difference), when known.</summary>
    public double? Margin { get; init; }

    /// <summary>Gets where the pair came from (file and line), used in error messages.</summary>
    public string? Origin { get; init; }
}
