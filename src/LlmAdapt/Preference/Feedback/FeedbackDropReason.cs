namespace LlmAdapt.Preference.Feedback;

/// <summary>Why a feedback record made no ranking when exported (<see cref="FeedbackExport"/>).</summary>
public enum FeedbackDropReason
{
    /// <summary>The prompt has thumbs up but no response with thumbs down, so there is nothing to prefer the good answers to.</summary>
    ThumbsUpOnly,

    /// <summary>The prompt has thumbs down but no response with thumbs up.</summary>
    ThumbsDownOnly,

    /// <summary>The response got as many thumbs up as down, so it is neither preferred nor dispreferred.</summary>
    ThumbsTied,

    /// <summary>The prompt has a score on only one distinct response, so there is nothing to compare it with.</summary>
    SingleScoredResponse,
}
