using LlmAdapt.Prompting.Internal;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Prompting.FewShot;

/// <summary>
/// Shows the model worked examples as chat turns before the task. The messages are: the instructions as a system
/// message (when set); for each selected example, a user message with its input and an assistant message with its
/// output; then the task as a user message. When a token limit applies, examples are dropped from the end (the least
/// useful) until the prompt fits; if it does not fit with none, the options' overflow rule decides.
/// </summary>
public sealed class FewShotPromptStrategy : IPromptStrategy
{
    /// <summary>The key in <see cref="PromptResult.AdditionalProperties"/> of the examples shown (<c>IReadOnlyList&lt;PromptExample&gt;</c>).</summary>
    public const string ExamplesKey = "examples";

    private readonly FewShotPromptOptions _options;
    private readonly TokenCounter _counter;
    private readonly ILogger _logger;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="LlmAdapt.Resilience.OptionsValidationProblemException">The options are invalid; every problem is listed.</exception>
    public FewShotPromptStrategy(string name, FewShotPromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(tokenCounter);
        OptionsValidation.ThrowIfInvalid(options, $"Prompt strategy '{name}'");
        Name = name;
        _options = options;
        _counter = tokenCounter;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public async Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatClient);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Task, nameof(request));
        var examples = (await _options.Selector!.SelectAsync(request.Task, cancellationToken).ConfigureAwait(false)).ToList();
        var limit = PromptBudget.Limit(request, _options.MaxPromptTokens);
        var messages = Build(examples, request.Task);
        if (limit is { } max)
        {
            while (examples.Count > 0 && _counter.CountTokens(messages) > max)
            {
                examples.RemoveAt(examples.Count - 1);
                messages = Build(examples, request.Task);
            }

            messages = [.. PromptBudget.Fit(_counter, messages, max, _options.Overflow)];
        }

        var ledger = new ModelCallLedger(chatClient, _logger, Name);
        var response = await ledger.CallAsync(messages, request.ChatOptions, cancellationToken).ConfigureAwait(false);
        return new PromptResult
        {
            Text = response.Text,
            Messages = messages,
            Response = response,
            ModelCalls = ledger.Calls,
            Usage = ledger.Usage,
            AdditionalProperties = new() { [ExamplesKey] = (IReadOnlyList<PromptExample>)examples },
        };
    }

    private List<ChatMessage> Build(List<PromptExample> examples, string task)
    {
        var messages = new List<ChatMessage>((examples.Count * 2) + 2);
        if (!string.IsNullOrEmpty(_options.Instructions))
        {
            messages.Add(new ChatMessage(ChatRole.System, _options.Instructions));
        }

        foreach (var example in examples)
        {
            messages.Add(new ChatMessage(ChatRole.User, example.Input));
            messages.Add(new ChatMessage(ChatRole.Assistant, example.Output));
        }

        messages.Add(new ChatMessage(ChatRole.User, task));
        return messages;
    }
}
