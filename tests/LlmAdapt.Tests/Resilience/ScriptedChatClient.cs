using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace LlmAdapt.Tests.Resilience;

/// <summary>A chat client whose every call runs the next scripted step; it records the fake time of each call.</summary>
internal sealed class ScriptedChatClient(FakeTimeProvider time, params Func<CancellationToken, Task<ChatResponse>>[] steps) : IChatClient
{
    private int _calls;

    public List<DateTimeOffset> CallTimes { get; } = [];

    public int Calls => Volatile.Read(ref _calls);

    public static Func<CancellationToken, Task<ChatResponse>> Ok(string text = "ok") => _ => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)));

    public static Func<CancellationToken, Task<ChatResponse>> Throw(Exception ex) => _ => Task.FromException<ChatResponse>(ex);

    public static Func<CancellationToken, Task<ChatResponse>> Hang() => async ct =>
    {
        await Task.Delay(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
        throw new InvalidOperationException("unreachable");
    };

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        lock (CallTimes)
        {
            CallTimes.Add(time.GetUtcNow());
        }

        var index = Interlocked.Increment(ref _calls) - 1;
        return steps[Math.Min(index, steps.Length - 1)](cancellationToken);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
