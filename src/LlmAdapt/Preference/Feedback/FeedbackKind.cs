namespace LlmAdapt.Preference.Feedback;

/// <summary>What a person (or a reward model) said about one or more responses.</summary>
public enum FeedbackKind
{
    /// <summary>Thumbs up or down on one response (<see cref="FeedbackRecord.ThumbsUp"/>).</summary>
    Thumbs,

    /// <summary>A number on one response, higher is better (<see cref="FeedbackRecord.Score"/>).</summary>
    Score,

    /// <summary>An ordering of several candidate responses (<see cref="FeedbackRecord.Ranks"/>, optionally from <see cref="FeedbackRecord.Scores"/>).</summary>
    Ranking,
}
