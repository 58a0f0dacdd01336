namespace LlmAdapt.Preference.Feedback;

/// <summary>What <see cref="FeedbackExport.ToRankings"/> made of a set of feedback records, and what it could not use.</summary>
public sealed record FeedbackRankings
{
    /// <summary>Gets how many records were read.</summary>
    public required int Records { get; init; }

    /// <summary>Gets the rankings, in the order their first record was seen.</summary>
    public required IReadOnlyList<Ranking> Rankings { get; init; }

    /// <summary>Gets how many records were dropped, by reason (reasons with none are absent).</summary>
    public required IReadOnlyDictionary<FeedbackDropReason, int> Dropped { get; init; }
}
