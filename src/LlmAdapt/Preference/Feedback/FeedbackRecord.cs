namespace LlmAdapt.Preference.Feedback;

/// <summary>
/// One piece of feedback on the answers to one prompt, as a host records it: thumbs up or down, a score, or a ranking of
/// several candidates. Build one with <see cref="Thumbs"/>, <see cref="Scored"/>, <see cref="Ranked"/> or
/// <see cref="RankedByScores"/>. The record holds exactly what the host gives it, prompts and answers included: redact
/// personal data before appending, or with <see cref="JsonLinesFeedbackStoreOptions.Redact"/>.
/// </summary>
public sealed record FeedbackRecord
{
    /// <summary>Gets the record's own id (a new GUID unless set).</summary>
    public string Id { get; init; } = Guid.NewGuid().ToString("N");

    /// <summary>Gets the id of the response the feedback is about (for example <c>ChatResponse.ResponseId</c>).</summary>
    public required string ResponseId { get; init; }

    /// <summary>Gets what kind of feedback this is.</summary>
    public required FeedbackKind Kind { get; init; }

    /// <summary>Gets the prompt the responses answer (a lone user message's text, or dialogue text; see <see cref="DialogueText.PromptOf"/>).</summary>
    public required string Prompt { get; init; }

    /// <summary>Gets the response texts: one for <see cref="FeedbackKind.Thumbs"/> and <see cref="FeedbackKind.Score"/>, two or more for a ranking.</summary>
    public required IReadOnlyList<string> Responses { get; init; }

    /// <summary>Gets whether the response got a thumbs up (<see langword="true"/>) or down; set for <see cref="FeedbackKind.Thumbs"/> only.</summary>
    public bool? ThumbsUp { get; init; }

    /// <summary>Gets the response's score, higher is better; set for <see cref="FeedbackKind.Score"/> only.</summary>
    public double? Score { get; init; }

    /// <summary>Gets each response's rank for a ranking, parallel to <see cref="Responses"/>: 1 is best, equal ranks tie.</summary>
    public IReadOnlyList<int>? Ranks { get; init; }

    /// <summary>Gets the scores a ranking was derived from (higher is better), parallel to <see cref="Responses"/>, when it was.</summary>
    public IReadOnlyList<double>? Scores { get; init; }

    /// <summary>Gets who gave the feedback: <c>user</c> by default, <c>best-of-n</c> for a reward model's ranking of candidates.</summary>
    public string Source { get; init; } = "user";

    /// <summary>Gets when the feedback was given; the store stamps the current time when it is left unset.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Gets free-form string metadata the host attaches (model, adapter, tenant…), or <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>Gets where the record was read from (file and line), used in error messages; not stored.</summary>
    public string? Origin { get; init; }

    /// <summary>Creates a thumbs-up or thumbs-down record.</summary>
    /// <param name="responseId">The id of the response.</param>
    /// <param name="prompt">The prompt it answers.</param>
    /// <param name="response">The response text.</param>
    /// <param name="up">Thumbs up (<see langword="true"/>) or down.</param>
    /// <returns>The record.</returns>
    public static FeedbackRecord Thumbs(string responseId, string prompt, string response, bool up)
        => new() { ResponseId = responseId, Kind = FeedbackKind.Thumbs, Prompt = prompt, Responses = [response], ThumbsUp = up };

    /// <summary>Creates a record of a score on one response.</summary>
    /// <param name="responseId">The id of the response.</param>
    /// <param name="prompt">The prompt it answers.</param>
    /// <param name="response">The response text.</param>
    /// <param name="score">The score, higher is better; finite.</param>
    /// <returns>The record.</returns>
    public static FeedbackRecord Scored(string responseId, string prompt, string response, double score)
        => new() { ResponseId = responseId, Kind = FeedbackKind.Score, Prompt = prompt, Responses = [response], Score = score };

    /// <summary>Creates a ranking of several candidates by rank.</summary>
    /// <param name="responseId">The id of the response the candidates were offered for.</param>
    /// <param name="prompt">The prompt they answer.</param>
    /// <param name="responses">The candidates.</param>
    /// <param name="ranks">Each candidate's rank, 1 best, equal ranks tie.</param>
    /// <returns>The record.</returns>
    public static FeedbackRecord Ranked(string responseId, string prompt, IReadOnlyList<string> responses, IReadOnlyList<int> ranks)
        => new() { ResponseId = responseId, Kind = FeedbackKind.Ranking, Prompt = prompt, Responses = responses, Ranks = ranks };

    /// <summary>Creates a ranking of several candidates from their scores (higher is better; equal scores tie).</summary>
    /// <param name="responseId">The id of the response the candidates were offered for.</param>
    /// <param name="prompt">The prompt they answer.</param>
    /// <param name="responses">The candidates.</param>
    /// <param name="scores">Each candidate's score.</param>
    /// <returns>The record, with <see cref="Ranks"/> derived from <paramref name="scores"/>.</returns>
    public static FeedbackRecord RankedByScores(string responseId, string prompt, IReadOnlyList<string> responses, IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return new() { ResponseId = responseId, Kind = FeedbackKind.Ranking, Prompt = prompt, Responses = responses, Ranks = RankingPairs.RanksFromScores(scores), Scores = scores };
    }

    /// <summary>Returns what is wrong with the record, or <see langword="null"/> when it is well formed.</summary>
    /// <returns>The problem, naming the field, or <see langword="null"/>.</returns>
    public string? Check()
    {
        if (string.IsNullOrWhiteSpace(ResponseId))
        {
            return "'response_id' is missing or empty.";
        }

        if (Prompt is null)
        {
            return "'prompt' is missing.";
        }

        if (Responses is null || Responses.Count == 0 || Responses.Any(r => r is null))
        {
            return "'responses' must hold at least one response text.";
        }

        switch (Kind)
        {
            case FeedbackKind.Thumbs:
                if (Responses.Count != 1 || ThumbsUp is null)
                {
                    return $"thumbs feedback needs exactly one response and 'thumbs_up'; it has {Responses.Count} response(s) and thumbs_up {(ThumbsUp is null ? "missing" : "set")}.";
                }

                break;
            case FeedbackKind.Score:
                if (Responses.Count != 1 || Score is not { } score || !double.IsFinite(score))
                {
                    return $"score feedback needs exactly one response and a finite 'score'; it has {Responses.Count} response(s) and score {Score?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "missing"}.";
                }

                break;
            case FeedbackKind.Ranking:
                if (Responses.Count < 2)
                {
                    return $"a ranking needs at least two responses; it has {Responses.Count}.";
                }

                if (Ranks is null || Ranks.Count != Responses.Count)
                {
                    return $"a ranking needs one rank per response: {Ranks?.Count ?? 0} ranks for {Responses.Count} responses.";
                }

                if (Ranks.Any(r => r < 1))
                {
                    return "ranks start at 1 (best).";
                }

                if (Scores is { } scores && (scores.Count != Responses.Count || scores.Any(s => !double.IsFinite(s))))
                {
                    return $"'scores' must hold one finite score per response: {scores.Count} for {Responses.Count}.";
                }

                break;
            default:
                return $"unknown kind {Kind}.";
        }

        return null;
    }
}
