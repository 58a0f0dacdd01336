using System.Diagnostics;
using LlmAdapt.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LlmAdapt.Prompting.Internal;

/// <summary>
/// Makes the model calls of one strategy run: counts them against an optional bound, sums the usage the client
/// reports, and logs message content only at Trace (prompts are user data). Thread-safe. A multi-call run's ledger
/// also holds the run's span (<see cref="WithSpan"/>), the parent of every call's span, ended by <see cref="Dispose"/>.
/// </summary>
internal sealed class ModelCallLedger(IChatClient client, ILogger logger, string strategyName, int maxCalls = int.MaxValue) : IDisposable
{
    /// <summary>The tag naming the prompt strategy on its spans.</summary>
    public const string StrategyTag = "llmadapt.prompt.strategy";

    /// <summary>The tag giving a strategy span's model calls, or a call span's number.</summary>
    public const string CallsTag = "llmadapt.prompt.model_calls";

    private readonly Lock _gate = new();
    private Activity? _span;
    private int _calls;
    private int _reserved;
    private UsageDetails? _usage;

    public int Calls
    {
        get
        {
            lock (_gate)
            {
                return _calls;
            }
        }
    }

    public int Remaining
    {
        get
        {
            lock (_gate)
            {
                return maxCalls - _reserved;
            }
        }
    }

    public UsageDetails? Usage
    {
        get
        {
            lock (_gate)
            {
                return _usage;
            }
        }
    }

    /// <summary>
    /// Starts the run's span, <c>prompt_strategy {name}</c>, as the current activity of the caller (call this from the
    /// run's own method, not from an async helper, so the calls made after it are its children).
    /// </summary>
    public ModelCallLedger WithSpan()
    {
        _span = LlmAdaptTelemetry.ActivitySource.StartActivity("prompt_strategy " + strategyName);
        _span?.SetTag(StrategyTag, strategyName);
        return this;
    }

    /// <summary>Ends the run's span, if any, with the calls made and the tokens they used.</summary>
    public void Dispose()
    {
        if (_span is not { } span)
        {
            return;
        }

        lock (_gate)
        {
            span.SetTag(CallsTag, _calls);
            if (_usage is { } usage)
            {
                span.SetTag("gen_ai.usage.input_tokens", usage.InputTokenCount);
                span.SetTag("gen_ai.usage.output_tokens", usage.OutputTokenCount);
            }
        }

        span.Dispose();
        _span = null;
    }

    public async Task<ChatResponse> CallAsync(IReadOnlyList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_reserved >= maxCalls)
            {
                throw new InvalidOperationException($"Strategy '{strategyName}' tried call {_reserved + 1} with a bound of {maxCalls} calls.");
            }

            _reserved++;
        }

        // One span per model call, the parent of the chat client's own span (UseOpenTelemetry's "chat {model}").
        using var activity = LlmAdaptTelemetry.ActivitySource.StartActivity("prompt_strategy.call " + strategyName);
        activity?.SetTag(StrategyTag, strategyName);

        if (logger.IsEnabled(LogLevel.Trace))
        {
            logger.LogTrace("{Strategy} call: {Messages}", strategyName, string.Join(" | ", messages.Select(m => $"{m.Role}: {m.Text}")));
        }

        var response = await client.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _calls++;
            activity?.SetTag(CallsTag, _calls);
            if (response.Usage is { } usage)
            {
                _usage ??= new UsageDetails();
                _usage.Add(usage);
            }
        }

        if (logger.IsEnabled(LogLevel.Trace))
        {
            logger.LogTrace("{Strategy} reply: {Text}", strategyName, response.Text);
        }

        return response;
    }

    /// <summary>The run's result: the final call's messages and response, with the calls and usage counted here.</summary>
    public PromptResult Result(string text, IReadOnlyList<ChatMessage> messages, ChatResponse? response, AdditionalPropertiesDictionary? properties = null)
        => new()
        {
            Text = text,
            Messages = messages,
            Response = response,
            ModelCalls = Calls,
            Usage = Usage,
            AdditionalProperties = properties,
        };
}
