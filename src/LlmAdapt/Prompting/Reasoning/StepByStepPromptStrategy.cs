using LlmAdapt.Prompting.Internal;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

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
    private readonly StrategyCore _core;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public StepByStepPromptStrategy(string name, StepByStepPromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
    {
        _core = new StrategyCore(name, options, tokenCounter, logger);
        _options = options;
    }

    /// <inheritdoc />
    public string Name => _core.Name;

    /// <inheritdoc />
    public async Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default)
    {
        var fitted = ReasoningPrompt.BuildFitted(_core, chatClient, request, _options);
        var (response, ledger) = await _core.CallOnceAsync(chatClient, fitted, request.ChatOptions, cancellationToken).ConfigureAwait(false);
        var reply = response.Text ?? string.Empty;
        var found = _options.Extractor.TryExtract(reply, out var answer);
        return ledger.Result(found ? answer! : reply.Trim(), fitted, response, new() { [ReasoningKey] = reply, [AnswerExtractedKey] = found });
    }
}
