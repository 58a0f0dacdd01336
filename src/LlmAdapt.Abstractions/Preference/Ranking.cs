namespace LlmAdapt.Preference;

/// <summary>
/// People's ordering of several responses to one prompt. <see cref="Ranks"/>[i] is the rank of
/// <see cref="Responses"/>[i]: 1 is best, and equal ranks are ties.
/// </summary>
public sealed record Ranking
{
    /// <summary>Gets the prompt.</summary>
    public required string Prompt { get; init; }

    /// <summary>Gets the responses.</summary>
    public required IReadOnlyList<string> Responses { get; init; }

    /// <summary>Gets each response's rank, parallel to <see cref="Responses"/>; lower is better, equal is a tie.</summary>
    public required IReadOnlyList<int> Ranks { get; init; }

    /// <summary>Gets optional scores, parallel to <see cref="Responses"/>, from which the ranks were derived.</summary>
    public IReadOnlyList<double>? Scores { get; init; }

    /// <summary>Gets where the ranking came from (file and line), used in error messages.</summary>
    public string? Origin { get; init; }
}
