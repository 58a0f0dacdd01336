using System.Diagnostics;

namespace LlmAdapt.Hosting;

/// <summary>What the server's metrics need to know of one request: its operation, when it arrived, the model it named.</summary>
internal sealed class ServedRequest(string operation)
{
    public string Operation { get; } = operation;

    public long Started { get; } = Stopwatch.GetTimestamp();

    /// <summary>Gets or sets the model the body named, once it is read.</summary>
    public string? Model { get; set; }
}
