using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Preference;

/// <summary>
/// The bounds every preference record is held to when it is read or built: prompt and responses within their lengths,
/// responses non-empty, and the chosen response different from the rejected one.
/// </summary>
public sealed class PreferenceLimits
{
    /// <summary>Gets the limits used when none are given: prompts up to 200,000 characters, responses up to 50,000.</summary>
    public static PreferenceLimits Default { get; } = new();

    /// <summary>Gets or sets the longest prompt accepted, in characters; from 1 to 10,000,000. Default: 200,000.</summary>
    [Range(1, 10_000_000)]
    public int MaxPromptCharacters { get; set; } = 200_000;

    /// <summary>Gets or sets the longest response accepted, in characters; from 1 to 10,000,000. Default: 50,000.</summary>
    [Range(1, 10_000_000)]
    public int MaxResponseCharacters { get; set; } = 50_000;

    /// <summary>Gets or sets whether an empty prompt is accepted (TRL's implicit format may share no prefix). Default: <see langword="true"/>.</summary>
    public bool AllowEmptyPrompt { get; set; } = true;

    /// <summary>
    /// Gets or sets whether an empty response is accepted. HH-RLHF has a few pairs whose preferred answer is empty (saying
    /// nothing beat saying something harmful), which are real preferences. Default: <see langword="false"/>.
    /// </summary>
    public bool AllowEmptyResponses { get; set; }

    /// <summary>Returns what is wrong with <paramref name="pair"/>, or <see langword="null"/> when it is valid.</summary>
    /// <param name="pair">The pair.</param>
    /// <returns>The problem, with the numbers, or <see langword="null"/>.</returns>
    public string? Check(PreferencePair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        if (pair.Prompt is null || pair.Chosen is null || pair.Rejected is null)
        {
            return "prompt, chosen and rejected must all be present.";
        }

        if (!AllowEmptyPrompt && string.IsNullOrWhiteSpace(pair.Prompt))
        {
            return "the prompt is empty.";
        }

        if (pair.Prompt.Length > MaxPromptCharacters)
        {
            return $"the prompt has {pair.Prompt.Length} characters; the limit is {MaxPromptCharacters}.";
        }

        if (!AllowEmptyResponses && string.IsNullOrWhiteSpace(pair.Chosen))
        {
            return "the chosen response is empty.";
        }

        if (!AllowEmptyResponses && string.IsNullOrWhiteSpace(pair.Rejected))
        {
            return "the rejected response is empty.";
        }

        if (pair.Chosen.Length > MaxResponseCharacters)
        {
            return $"the chosen response has {pair.Chosen.Length} characters; the limit is {MaxResponseCharacters}.";
        }

        if (pair.Rejected.Length > MaxResponseCharacters)
        {
            return $"the rejected response has {pair.Rejected.Length} characters; the limit is {MaxResponseCharacters}.";
        }

        if (string.Equals(pair.Chosen.Trim(), pair.Rejected.Trim(), StringComparison.Ordinal))
        {
            return "the chosen and rejected responses are the same text, so the pair says nothing.";
        }

        if (pair.Margin is { } margin && !double.IsFinite(margin))
        {
            return $"the margin is {margin}; it must be a finite number.";
        }

        return null;
    }

    /// <summary>Throws when <paramref name="pair"/> breaks a limit, naming its origin.</summary>
    /// <param name="pair">The pair.</param>
    /// <exception cref="InvalidDataFileException">The pair is invalid.</exception>
    public void Validate(PreferencePair pair)
    {
        var problem = Check(pair);
        if (problem is not null)
        {
            throw new InvalidDataFileException($"{pair.Origin ?? "preference pair"}: {problem}");
        }
    }
}
