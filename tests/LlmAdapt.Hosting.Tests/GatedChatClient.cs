using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Hosting.Tests;

/// <summary>
/// A test double of the model endpoint that holds each request until released, so a test can keep a slot busy or
/// disconnect mid-answer; it records whether the request's cancellation token fired.
/// </summary>
internal sealed class GatedChatClient : IChatClient
{
    public TaskCompletionSource Started { get; private set; } = New();

    public TaskCompletionSource Release { get; private set; } = New();

    public TaskCompletionSource Cancelled { get; private set; } = New();

    public void Reset()
    {
        Started = New();
        Release = New();
        Cancelled = New();
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        await HoldAsync(cancellationToken);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, "released")) { FinishReason = ChatFinishReason.Stop };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return new ChatResponseUpdate(ChatRole.Assistant, "first");
        await HoldAsync(cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, " last") { FinishReason = ChatFinishReason.Stop };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task HoldAsync(CancellationToken cancellationToken)
    {
        Started.TrySetResult();
        try
        {
            await Release.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Cancelled.TrySetResult();
            throw;
        }
    }
}
