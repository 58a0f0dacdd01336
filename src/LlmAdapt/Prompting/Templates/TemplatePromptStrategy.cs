using LlmAdapt.Prompting.Internal;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Prompting.Templates;

/// <summary>
/// Renders a <see cref="PromptTemplate"/> with the request's task (variable <c>task</c>) and inputs, fits it to the
/// token budget by the options' rule and makes one model call.
/// </summary>
public sealed class TemplatePromptStrategy : IPromptStrategy
{
    private readonly TemplatePromptOptions _options;
    private readonly TokenCounter _counter;
    private readonly ILogger _logger;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="LlmAdapt.Resilience.OptionsValidationProblemException">The options are invalid; every problem is listed.</exception>
    public TemplatePromptStrategy(string name, TemplatePromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
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
        var messages = _options.Template!.Render(TemplateVariables.From(request));
        messages = PromptBudget.Fit(_counter, messages, PromptBudget.Limit(request, _options.MaxPromptTokens), _options.Overflow);
        var ledger = new ModelCallLedger(chatClient, _logger, Name);
        var response = await ledger.CallAsync(messages, request.ChatOptions, cancellationToken).ConfigureAwait(false);
        return new PromptResult
        {
            Text = response.Text,
            Messages = messages,
            Response = response,
            ModelCalls = ledger.Calls,
            Usage = ledger.Usage,
        };
    }
}
