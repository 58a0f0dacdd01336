using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Preference;

/// <summary>Options of <see cref="BestOfNChatClient"/>.</summary>
public sealed class BestOfNOptions
{
    /// <summary>The key of the candidates' scores (a <c>double[]</c>, in request order) in the response's additional properties.</summary>
    public const string ScoresKey = "best_of_n.scores";

    /// <summary>The key of the chosen candidate's index (an <c>int</c>) in the response's additional properties.</summary>
    public const string ChosenIndexKey = "best_of_n.chosen";

    /// <summary>The key of the candidates' texts (a <c>string[]</c>, in request order) in the response's additional properties.</summary>
    public const string CandidatesKey = "best_of_n.candidates";

    /// <summary>Gets or sets how many candidates to ask for; from 1 to 64. Default: 4.</summary>
    [Range(1, 64)]
    public int N { get; set; } = 4;

    /// <summary>Gets or sets how many candidate requests may be in flight at once; from 1 to 64. Default: 4.</summary>
    [Range(1, 64)]
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>
    /// Gets or sets the sampling temperature for candidates when the caller's options set none; 0 to 2, or
    /// <see langword="null"/> to leave the provider's default. Default: 0.8, so candidates differ.
    /// </summary>
    [Range(0.0, 2.0)]
    public float? Temperature { get; set; } = 0.8f;

    /// <summary>
    /// Gets or sets whether each request's candidates and their scores are appended to an
    /// <see cref="Feedback.IFeedbackStore"/> as a ranking (source <c>best-of-n</c>; not when there is one candidate or a
    /// score is not finite), so that DPO on the exported pairs
    /// teaches the model itself what the reward model prefers and one sample can later do what n did. The chosen
    /// response's <c>ResponseId</c> is the record's, so users' own feedback on it can be joined later. Default:
    /// <see langword="false"/>.
    /// </summary>
    public bool RecordRankings { get; set; }

    /// <summary>Throws when a value is out of range, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">An option is out of range; every problem is listed.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);
}
