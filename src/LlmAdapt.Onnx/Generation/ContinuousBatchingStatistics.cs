namespace LlmAdapt.Onnx.Generation;

/// <summary>A snapshot of a model's continuous batch (<see cref="OnnxDecoderModel.BatchingStatistics"/>).</summary>
/// <param name="Admitted">Requests that got a slot and had their prompt decoded.</param>
/// <param name="Completed">Requests that finished (end of sequence, stop, length).</param>
/// <param name="Cancelled">Requests that left because their caller cancelled or stopped listening (waiting or decoding).</param>
/// <param name="Failed">Requests that ended with an error.</param>
/// <param name="ActiveSequences">Sequences holding a KV-cache slot now; 0 once every request has ended.</param>
/// <param name="WaitingRequests">Requests queued for a slot now.</param>
/// <param name="Steps">Batched decode steps run.</param>
/// <param name="GeneratedTokens">Ids generated, the first of each request included.</param>
/// <param name="PeakActiveSequences">The most sequences that held a slot at once.</param>
public sealed record ContinuousBatchingStatistics(
    long Admitted,
    long Completed,
    long Cancelled,
    long Failed,
    int ActiveSequences,
    int WaitingRequests,
    long Steps,
    long GeneratedTokens,
    int PeakActiveSequences);
