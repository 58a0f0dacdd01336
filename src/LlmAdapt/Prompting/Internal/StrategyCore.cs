using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Prompting.Internal;

/// <summary>
/// What every prompt strategy holds and does the same way: the checks on its constructor's and its run's arguments,
/// fitting messages to the run's token budget, and one <see cref="ModelCallLedger"/> per run. Each strategy keeps its
/// own typed options; this holds only the name, the token counter and the logger.
/// </summary>
internal sealed class StrategyCore
{
    /// <summary>Checks a strategy constructor's arguments (name, then token counter, then options) and validates the options.</summary>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public StrategyCore(string name, object options, TokenCounter tokenCounter, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(tokenCounter);
        OptionsValidator.ThrowIfInvalid(options, $"Prompt strategy '{name}'");
        Name = name;
        Counter = tokenCounter;
        Logger = logger ?? NullLogger.Instance;
    }

    public string Name { get; }

    public TokenCounter Counter { get; }

    public ILogger Logger { get; }

    /// <summary>The checks at the start of every run.</summary>
    public static void CheckArguments(IChatClient chatClient, PromptRequest request)
    {
        ArgumentNullException.ThrowIfNull(chatClient);
        ArgumentNullException.ThrowIfNull(request);
    }

    /// <summary>The checks at the start of a run that needs the task as text; returns it.</summary>
    public static string RequireTask(IChatClient chatClient, PromptRequest request)
    {
        CheckArguments(chatClient, request);
        ArgumentNullException.ThrowIfNull(request.Task, nameof(request));
        return request.Task;
    }

    /// <summary>Fits the messages to the request's limit, else the options' limit; no limit, no check.</summary>
    public IReadOnlyList<ChatMessage> Fit(IReadOnlyList<ChatMessage> messages, PromptRequest request, int? optionsLimit, TokenBudgetOverflow overflow)
        => PromptBudget.Fit(Counter, messages, PromptBudget.Limit(request, optionsLimit), overflow);

    /// <summary>
    /// A ledger for one multi-call run, logging under this strategy's name, with the run's span started (the parent of
    /// every call's span); dispose it when the run ends.
    /// </summary>
    public ModelCallLedger Ledger(IChatClient chatClient, int maxCalls = int.MaxValue) => new ModelCallLedger(chatClient, Logger, Name, maxCalls).WithSpan();

    /// <summary>Makes the one call of a single-call run; the ledger gives the result its call count and usage.</summary>
    public async Task<(ChatResponse Response, ModelCallLedger Ledger)> CallOnceAsync(IChatClient chatClient, IReadOnlyList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        // One call: its own span is the strategy's, no parent span around it.
        var ledger = new ModelCallLedger(chatClient, Logger, Name);
        var response = await ledger.CallAsync(messages, options, cancellationToken).ConfigureAwait(false);
        return (response, ledger);
    }
}
