using LlmAdapt.Prompting.Internal;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Prompting.Reasoning;

/// <summary>
/// Asks the model to reason before answering, then extracts the final answer. The messages are the system prompt
/// (when set), then the task (or the rendered template) with the answer instruction and the cue appended to its last
/// user message, separated by blank lines. One call. When no answer can be extracted (no marker, bad JSON, empty
/// reply), <see cref="PromptResult.Text"/> is the whole reply trimmed and <see cref="AnswerExtractedKey"/> is
/// <see langword="false"/>; it never throws for malformed output.
/// </summary>
public sealed class StepByStepPromptStrategy : IPromptStrategy
{
    /// <summary>The key in <see cref="PromptResult.AdditionalProperties"/> of the model's full reasoning (<see cref="string"/>).</summary>
    public const string ReasoningKey = "reasoning";

    /// <summary>The key in <see cref="PromptResult.AdditionalProperties"/> of whether an answer was extracted (<see cref="bool"/>).</summary>
    public const string AnswerExtractedKey = "answer_extracted";

    private readonly StepByStepPromptOptions _options;
    private readonly TokenCounter _counter;
    private readonly ILogger _logger;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="LlmAdapt.Resilience.OptionsValidationProblemException">The options are invalid; every problem is listed.</exception>
    public StepByStepPromptStrategy(string name, StepByStepPromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
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
        var messages = ReasoningPrompt.Build(request, _options.SystemPrompt, _options.Template, _options.AnswerInstruction, _options.Cue);
        var fitted = PromptBudget.Fit(_counter, messages, PromptBudget.Limit(request, _options.MaxPromptTokens), TokenBudgetOverflow.Throw);
        var ledger = new ModelCallLedger(chatClient, _logger, Name);
        var response = await ledger.CallAsync(fitted, request.ChatOptions, cancellationToken).ConfigureAwait(false);
        var reply = response.Text ?? string.Empty;
        var found = _options.Extractor.TryExtract(reply, out var answer);
        return new PromptResult
        {
            Text = found ? answer! : reply.Trim(),
            Messages = fitted,
            Response = response,
            ModelCalls = ledger.Calls,
            Usage = ledger.Usage,
            AdditionalProperties = new() { [ReasoningKey] = reply, [AnswerExtractedKey] = found },
        };
    }
}
