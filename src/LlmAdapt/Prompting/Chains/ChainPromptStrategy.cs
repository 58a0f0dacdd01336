using System.Text.RegularExpressions;
using LlmAdapt.Prompting.Internal;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LlmAdapt.Prompting.Chains;

/// <summary>
/// Runs named steps in order, one model call each. Every step's template sees <c>task</c>, the request inputs and the
/// text output of each earlier step as a variable named after it. A step that uses a later (or its own) step's
/// output is rejected when the strategy is built; a step that uses a variable neither the request nor an earlier
/// step supplies is rejected when the run starts — both before any model call. The result is the output step's
/// text; every step's output is under <see cref="StepOutputsKey"/>.
/// </summary>
public sealed partial class ChainPromptStrategy : IPromptStrategy
{
    /// <summary>The key in <see cref="PromptResult.AdditionalProperties"/> of every step's output (<c>IReadOnlyDictionary&lt;string, string&gt;</c>, in step order).</summary>
    public const string StepOutputsKey = "steps";

    private readonly ChainStep[] _steps;
    private readonly ChainPromptOptions _options;
    private readonly StrategyCore _core;

    /// <summary>Initializes the strategy and checks the chain.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    /// <exception cref="ChainDefinitionException">A step name is repeated or not an identifier, or a step uses the output of a step that does not run before it.</exception>
    public ChainPromptStrategy(string name, ChainPromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
    {
        _core = new StrategyCore(name, options, tokenCounter, logger);
        _options = options;
        _steps = [.. options.Steps];
        CheckDefinition();
    }

    /// <inheritdoc />
    public string Name => _core.Name;

    /// <inheritdoc />
    public async Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default)
    {
        StrategyCore.CheckArguments(chatClient, request);
        var variables = TemplateVariables.From(request);
        CheckInputs(variables.Keys);

        var limit = PromptBudget.Limit(request, _options.MaxPromptTokens);
        using var ledger = _core.Ledger(chatClient, maxCalls: _steps.Length);
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        IReadOnlyList<ChatMessage> lastMessages = [];
        ChatResponse? lastResponse = null;
        ChatResponse? outputResponse = null;
        IReadOnlyList<ChatMessage> outputMessages = [];
        var outputStep = _options.OutputStep ?? _steps[^1].Name;
        foreach (var step in _steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lastMessages = PromptBudget.Fit(_core.Counter, step.Template.Render(variables), limit, _options.Overflow);
            lastResponse = await ledger.CallAsync(lastMessages, step.ChatOptions ?? request.ChatOptions, cancellationToken).ConfigureAwait(false);
            var text = lastResponse.Text ?? string.Empty;
            outputs[step.Name] = text;
            variables[step.Name] = text;
            if (step.Name == outputStep)
            {
                outputResponse = lastResponse;
                outputMessages = lastMessages;
            }
        }

        return ledger.Result(outputs[outputStep], outputMessages, outputResponse, new() { [StepOutputsKey] = (IReadOnlyDictionary<string, string>)outputs });
    }

    private void CheckDefinition()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _steps.Length; i++)
        {
            var step = _steps[i] ?? throw new ChainDefinitionException($"Chain '{Name}': step {i + 1} is null.");
            if (string.IsNullOrEmpty(step.Name) || !Identifier().IsMatch(step.Name))
            {
                throw new ChainDefinitionException($"Chain '{Name}': step {i + 1} is named '{step.Name}', which is not a Liquid identifier (letters, digits, '_', '-', not starting with a digit).");
            }

            if (step.Name == TemplateVariables.Task)
            {
                throw new ChainDefinitionException($"Chain '{Name}': step {i + 1} may not be named '{TemplateVariables.Task}', the task's variable.");
            }

            ArgumentNullException.ThrowIfNull(step.Template, $"{nameof(ChainPromptOptions.Steps)}[{i}].{nameof(ChainStep.Template)}");
            if (!index.TryAdd(step.Name, i))
            {
                throw new ChainDefinitionException($"Chain '{Name}': steps {index[step.Name] + 1} and {i + 1} are both named '{step.Name}'.");
            }
        }

        if (_options.OutputStep is { } output && !index.ContainsKey(output))
        {
            throw new ChainDefinitionException($"Chain '{Name}': the output step '{output}' is not one of its steps ({string.Join(", ", index.Keys)}).");
        }

        for (var i = 0; i < _steps.Length; i++)
        {
            var later = _steps[i].Template.Variables.Where(v => index.TryGetValue(v, out var j) && j >= i).ToList();
            if (later.Count > 0)
            {
                throw new ChainDefinitionException(_steps[i].Name, later, "no earlier step produces that output (a step sees only the outputs of the steps before it).");
            }
        }
    }

    private void CheckInputs(IEnumerable<string> supplied)
    {
        var known = new HashSet<string>(supplied, StringComparer.Ordinal);
        foreach (var step in _steps)
        {
            if (known.Contains(step.Name))
            {
                throw new ChainDefinitionException(step.Name, [step.Name], "a request input has the step's name, so its output would hide the input.");
            }
        }

        foreach (var step in _steps)
        {
            var missing = step.Template.MissingVariables(known);
            if (missing.Count > 0)
            {
                throw new ChainDefinitionException(step.Name, missing, "neither the request inputs nor an earlier step supply it.");
            }

            known.Add(step.Name);
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]*$", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Identifier();
}
