using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Prompting;

/// <summary>
/// A chat model double: answers every call with a scripted function of the messages and options, and records the
/// exact messages and options of every call, in call order.
/// </summary>
internal sealed class ScriptedChatClient : IChatClient
{
    private readonly Func<IReadOnlyList<ChatMessage>, ChatOptions?, int, string> _reply;
    private readonly ConcurrentQueue<RecordedCall> _calls = new();
    private int _count;
    private int _inFlight;
    private int _maxInFlight;

    /// <param name="reply">Reply text from (messages, options, zero-based call index).</param>
    public ScriptedChatClient(Func<IReadOnlyList<ChatMessage>, ChatOptions?, int, string> reply) => _reply = reply;

    /// <summary>Replies with the given texts in order; a call past the end fails the test.</summary>
    public static ScriptedChatClient Sequence(params string[] replies) => new((_, _, i) =>
        i < replies.Length ? replies[i] : throw new InvalidOperationException($"Unscripted call {i + 1}; only {replies.Length} replies were scripted."));

    public IReadOnlyList<RecordedCall> Calls => [.. _calls.OrderBy(c => c.Index)];

    public int MaxConcurrentCalls => Volatile.Read(ref _maxInFlight);

    /// <summary>When set, every call waits for it (to observe concurrency).</summary>
    public Func<Task>? Gate { get; set; }

    public int? TokensPerCall { get; set; }

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
            _calls.Enqueue(new RecordedCall(index, list, options?.Clone()));
            if (Gate is { } gate)
            {
                await gate().WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var text = _reply(list, options, index);
            var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, text));
            if (TokensPerCall is { } tokens)
            {
                response.Usage = new UsageDetails { InputTokenCount = tokens, OutputTokenCount = 1, TotalTokenCount = tokens + 1 };
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
}

internal sealed record RecordedCall(int Index, IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)
{
    public string LastUser => Messages.Last(m => m.Role == ChatRole.User).Text;

    public string Transcript => string.Join("\n", Messages.Select(m => $"[{m.Role}] {m.Text}"));
}
