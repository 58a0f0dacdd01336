using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Polly;

namespace LlmAdapt.Resilience;

/// <summary>
/// Chat middleware that retries transient failures with exponential backoff and jitter (honouring <c>Retry-After</c>),
/// limits each attempt and the whole call, breaks the circuit to a failing model, and optionally limits concurrency.
/// The caller's cancellation is never retried and never reported as a timeout. Streaming calls are retried only until
/// the first update arrives, since a partly delivered stream cannot be replayed.
/// Add it with <see cref="ResilienceChatClientBuilderExtensions.UseLlmAdaptResilience(ChatClientBuilder, Action{LlmAdaptResilienceOptions}?)"/>.
/// </summary>
public sealed class ResilientChatClient : DelegatingChatClient
{
    private readonly ResiliencePipeline _pipeline;

    /// <summary>Initializes the middleware.</summary>
    /// <param name="innerClient">The model client.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="timeProvider">The clock for delays and timeouts; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid.</exception>
    public ResilientChatClient(IChatClient innerClient, LlmAdaptResilienceOptions options, TimeProvider? timeProvider = null)
        : base(innerClient)
    {
        _pipeline = ModelResiliencePipeline.Create(options, timeProvider ?? TimeProvider.System);
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        return await ModelResiliencePipeline.ExecuteAsync(
            _pipeline,
            async (state, ct) => await state.Self.InnerClient.GetResponseAsync(state.List, state.Options, ct).ConfigureAwait(false),
            (Self: this, List: list, Options: options),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var (enumerator, first) = await ModelResiliencePipeline.ExecuteAsync(
            _pipeline,
            async (state, ct) =>
            {
                var e = state.Self.InnerClient.GetStreamingResponseAsync(state.List, state.Options, state.Caller).GetAsyncEnumerator(state.Caller);
                try
                {
                    var has = await e.MoveNextAsync().AsTask().WaitAsync(ct).ConfigureAwait(false);
                    return (e, has ? e.Current : null);
                }
                catch
                {
                    await e.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            },
            (Self: this, List: list, Options: options, Caller: cancellationToken),
            cancellationToken).ConfigureAwait(false);

        await using (enumerator.ConfigureAwait(false))
        {
            if (first is null)
            {
                yield break;
            }

            yield return first;
            while (await enumerator.MoveNextAsync().ConfigureAwait(false))
            {
                yield return enumerator.Current;
            }
        }
    }
}
