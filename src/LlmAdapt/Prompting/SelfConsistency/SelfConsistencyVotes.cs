namespace LlmAdapt.Prompting.SelfConsistency;

/// <summary>How the samples of a self-consistency run voted.</summary>
public sealed record SelfConsistencyVotes
{
    /// <summary>Gets the winning answer as the first sample that gave it wrote it, or <see langword="null"/> when no sample gave an answer.</summary>
    public string? Answer { get; init; }

    /// <summary>Gets the votes per normalised answer, most votes first (ties: the answer first seen earlier).</summary>
    public required IReadOnlyList<KeyValuePair<string, int>> Counts { get; init; }

    /// <summary>Gets the winner's votes divided by the number of samples (samples without an answer count against it); 0 with no answer.</summary>
    public double Agreement { get; init; }

    /// <summary>Gets how many samples were drawn.</summary>
    public int Samples { get; init; }

    /// <summary>Gets how many samples gave no extractable answer.</summary>
    public int Unanswered { get; init; }

    /// <summary>Gets the answer extracted from each sample, in sample order; <see langword="null"/> where none was.</summary>
    public required IReadOnlyList<string?> SampleAnswers { get; init; }
}
