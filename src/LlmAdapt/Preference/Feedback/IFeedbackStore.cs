namespace LlmAdapt.Preference.Feedback;

/// <summary>
/// Keeps what an application's users said about its answers, so it can become preference pairs
/// (<see cref="FeedbackExport"/>) and then a reward model or a DPO adapter. <see cref="JsonLinesFeedbackStore"/> is the
/// default; a database-backed store implements the same two calls.
/// </summary>
public interface IFeedbackStore
{
    /// <summary>Stores one record durably before the returned task completes.</summary>
    /// <param name="record">The feedback.</param>
    /// <param name="cancellationToken">Stops waiting for the store; a record is either stored whole or not at all.</param>
    /// <returns>A task that completes when the record is stored.</returns>
    /// <exception cref="ArgumentException">The record is malformed (<see cref="FeedbackRecord.Check"/>).</exception>
    Task AppendAsync(FeedbackRecord record, CancellationToken cancellationToken = default);

    /// <summary>Reads every stored record, oldest first.</summary>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The records.</returns>
    IAsyncEnumerable<FeedbackRecord> ReadAllAsync(CancellationToken cancellationToken = default);
}
