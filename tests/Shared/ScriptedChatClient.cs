using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Testing;

/// <summary>
/// The one chat model double of the tests: every call runs a scripted function of the call (messages, options,
/// zero-based index), and is recorded with its (fake) time, in call order. Calls can be held by a gate to observe
/// concurrency; the highest number of calls in flight at once is kept.
/// </summary>
internal sealed class ScriptedChatClient : IChatClient
{
    private readonly Func<RecordedCall, CancellationToken, Task<ChatResponse>> _respond;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<RecordedCall> _calls = new();
    private int _count;
    private int _inFlight;
    private int _maxInFlight;

    /// <param name="reply">Reply text from (messages, options, zero-based call index).</param>
    public ScriptedChatClient(Func<IReadOnlyList<ChatMessage>, ChatOptions?, int, string> reply)
        : this((call, _) => Task.FromResult(Text(reply(call.Messages, call.Options, call.Index))), TimeProvider.System)
    {
    }

    /// <summary>Runs the i-th step on the i-th call (the last step again on later calls); times come from <paramref name="time"/>.</summary>
    public ScriptedChatClient(TimeProvider time, params Func<CancellationToken, Task<ChatResponse>>[] steps)
        : this((call, ct) => steps[Math.Min(call.Index, steps.Length - 1)](ct), time)
    {
    }

    /// <param name="respond">The response to a recorded call.</param>
    /// <param name="time">The clock each call's time is read from.</param>
    public ScriptedChatClient(Func<RecordedCall, CancellationToken, Task<ChatResponse>> respond, TimeProvider time)
    {
        _respond = respond;
        _time = time;
    }

    /// <summary>Replies with the given texts in order; a call past the end fails the test.</summary>
    public static ScriptedChatClient Sequence(params string[] replies) => new((_, _, i) =>
        i < replies.Length ? replies[i] : throw new InvalidOperationException($"Unscripted call {i + 1}; only {replies.Length} replies were scripted."));

    /// <summary>Replies to the i-th call with the i-th text, round robin.</summary>
    public static ScriptedChatClient Cycle(params string[] replies) => new((_, _, i) => replies[i % replies.Length]);

    /// <summary>A step that answers <paramref name="text"/>.</summary>
    public static Func<CancellationToken, Task<ChatResponse>> Ok(string text = "ok") => _ => Task.FromResult(Text(text));

    /// <summary>A step that fails with <paramref name="exception"/>.</summary>
    public static Func<CancellationToken, Task<ChatResponse>> Throw(Exception exception) => _ => Task.FromException<ChatResponse>(exception);

    /// <summary>A step that never answers; it ends only when the call is cancelled.</summary>
    public static Func<CancellationToken, Task<ChatResponse>> Hang() => async ct =>
    {
        await Task.Delay(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
        throw new InvalidOperationException("unreachable");
    };

    /// <summary>Every call so far (including calls still in flight), in call order.</summary>
    public IReadOnlyList<RecordedCall> Calls => [.. _calls.OrderBy(c => c.Index)];

    /// <summary>The most calls that were in flight at once.</summary>
    public int MaxConcurrentCalls => Volatile.Read(ref _maxInFlight);

    /// <summary>When set, every call waits for the task it returns before answering (to observe concurrency).</summary>
    public Func<Task>? Gate { get; set; }

    /// <summary>When set, every response reports this usage.</summary>
    public UsageDetails? Usage { get; set; }

    /// <summary>Sets <see cref="Usage"/> to <paramref name="value"/> input tokens and one output token per call.</summary>
    public int TokensPerCall
    {
        set => Usage = new UsageDetails { InputTokenCount = value, OutputTokenCount = 1, TotalTokenCount = value + 1 };
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.Select(m => new ChatMessage(m.Role, m.Text)).ToList();
        var index = Interlocked.Increment(ref _count) - 1;
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while ((seen = Volatile.Read(ref _maxInFlight)) < now && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            var call = new RecordedCall(index, list, options?.Clone(), _time.GetUtcNow());
            _calls.Enqueue(call);
            if (Gate is { } gate)
            {
                await gate().WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var response = await _respond(call, cancellationToken).ConfigureAwait(false);
            if (Usage is { } usage)
            {
                response.Usage = new UsageDetails { InputTokenCount = usage.InputTokenCount, OutputTokenCount = usage.OutputTokenCount, TotalTokenCount = usage.TotalTokenCount };
            }

            return response;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private static ChatResponse Text(string text) => new(new ChatMessage(ChatRole.Assistant, text));
}

/// <summary>One call a <see cref="ScriptedChatClient"/> received.</summary>
internal sealed record RecordedCall(int Index, IReadOnlyList<ChatMessage> Messages, ChatOptions? Options, DateTimeOffset Time)
{
    public string LastUser => Messages.Last(m => m.Role == ChatRole.User).Text;

    public string Transcript => string.Join("\n", Messages.Select(m => $"[{m.Role}] {m.Text}"));
}
