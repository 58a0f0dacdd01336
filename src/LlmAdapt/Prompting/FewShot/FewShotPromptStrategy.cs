using LlmAdapt.Prompting.Internal;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

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
    private readonly StrategyCore _core;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public FewShotPromptStrategy(string name, FewShotPromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
    {
        _core = new StrategyCore(name, options, tokenCounter, logger);
        _options = options;
    }

    /// <inheritdoc />
    public string Name => _core.Name;

    /// <inheritdoc />
    public async Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default)
    {
        var task = StrategyCore.RequireTask(chatClient, request);
        var examples = (await _options.Selector!.SelectAsync(task, cancellationToken).ConfigureAwait(false)).ToList();
        var limit = PromptBudget.Limit(request, _options.MaxPromptTokens);
        var messages = Build(examples, task);
        if (limit is { } max)
        {
            while (examples.Count > 0 && _core.Counter.CountTokens(messages) > max)
            {
                examples.RemoveAt(examples.Count - 1);
                messages = Build(examples, task);
            }

            messages = [.. PromptBudget.Fit(_core.Counter, messages, max, _options.Overflow)];
        }

        var (response, ledger) = await _core.CallOnceAsync(chatClient, messages, request.ChatOptions, cancellationToken).ConfigureAwait(false);
        return ledger.Result(response.Text, messages, response, new() { [ExamplesKey] = (IReadOnlyList<PromptExample>)examples });
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
