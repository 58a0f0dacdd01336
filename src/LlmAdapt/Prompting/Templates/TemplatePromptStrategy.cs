using LlmAdapt.Prompting.Internal;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LlmAdapt.Prompting.Templates;

/// <summary>
/// Renders a <see cref="PromptTemplate"/> with the request's task (variable <c>task</c>) and inputs, fits it to the
/// token budget by the options' rule and makes one model call.
/// </summary>
public sealed class TemplatePromptStrategy : IPromptStrategy
{
    private readonly TemplatePromptOptions _options;
    private readonly StrategyCore _core;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public TemplatePromptStrategy(string name, TemplatePromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
    {
        _core = new StrategyCore(name, options, tokenCounter, logger);
        _options = options;
    }

    /// <inheritdoc />
    public string Name => _core.Name;

    /// <inheritdoc />
    public async Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default)
    {
        StrategyCore.CheckArguments(chatClient, request);
        var messages = _core.Fit(_options.Template!.Render(TemplateVariables.From(request)), request, _options.MaxPromptTokens, _options.Overflow);
        var (response, ledger) = await _core.CallOnceAsync(chatClient, messages, request.ChatOptions, cancellationToken).ConfigureAwait(false);
        return ledger.Result(response.Text, messages, response);
    }
}
