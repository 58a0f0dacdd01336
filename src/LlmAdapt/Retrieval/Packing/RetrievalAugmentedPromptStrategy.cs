using LlmAdapt.Diagnostics;
using LlmAdapt.Prompting.Internal;
using LlmAdapt.Prompting;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Packing;

/// <summary>
/// Answers a question from retrieved passages: retrieves for <see cref="PromptRequest.Task"/>, packs the passages
/// into the token budget as numbered, fenced untrusted data, asks the model to cite them as <c>[n]</c>, and maps
/// the markers in its answer back to their sources (<see cref="CitationsKey"/>). The request's inputs may carry a
/// <see cref="Principal"/> under <see cref="PrincipalKey"/> and a <see cref="RetrievalFilter"/> under <see cref="FilterKey"/>.
/// </summary>
public sealed class RetrievalAugmentedPromptStrategy : IPromptStrategy
{
    /// <summary>The input key of the <see cref="Principal"/> asking.</summary>
    public const string PrincipalKey = "principal";

    /// <summary>The input key of a <see cref="RetrievalFilter"/>.</summary>
    public const string FilterKey = "filter";

    /// <summary>The result property holding the cited passages (<c>IReadOnlyList&lt;PackedPassage&gt;</c>).</summary>
    public const string CitationsKey = "citations";

    /// <summary>The result property holding the packed context (<see cref="PackedContext"/>).</summary>
    public const string ContextKey = "context";

    private readonly IRetriever _retriever;
    private readonly ContextPacker _packer;
    private readonly RetrievalAugmentedOptions _options;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="retriever">Finds the passages (and enforces access control).</param>
    /// <param name="packer">Fits them into the budget with the model's token counter.</param>
    /// <param name="options">Settings; validated here.</param>
    public RetrievalAugmentedPromptStrategy(IRetriever retriever, ContextPacker packer, RetrievalAugmentedOptions? options = null)
    {
        _retriever = retriever ?? throw new ArgumentNullException(nameof(retriever));
        _packer = packer ?? throw new ArgumentNullException(nameof(packer));
        _options = options ?? new RetrievalAugmentedOptions();
        OptionsValidator.ThrowIfInvalid(_options);
    }

    /// <inheritdoc/>
    public string Name => "rag";

    /// <inheritdoc/>
    public async Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatClient);
        ArgumentNullException.ThrowIfNull(request);
        using var activity = LlmAdaptTelemetry.ActivitySource.StartActivity("prompt_strategy " + Name);
        activity?.SetTag(ModelCallLedger.StrategyTag, Name);
        activity?.SetTag(ModelCallLedger.CallsTag, 1);
        var principal = request.Inputs.GetValueOrDefault(PrincipalKey) as Principal;
        var filter = request.Inputs.GetValueOrDefault(FilterKey) as RetrievalFilter;
        var retrieved = await _retriever.RetrieveAsync(
            new RetrievalRequest { Query = request.Task, TopK = _options.TopK, Principal = principal, Filter = filter },
            cancellationToken).ConfigureAwait(false);

        var probe = _packer.PackCore([], 1);
        var budget = _options.MaxContextTokens;
        if (request.MaxPromptTokens is { } limit)
        {
            var frame = _packer.Counter.CountTokens(BuildMessages(probe, request.Task));
            budget = Math.Min(budget, limit - frame - 1);
            if (budget < 1)
            {
                throw new TokenBudgetExceededException(frame + 1, limit, "question and instructions");
            }
        }

        var context = _packer.Pack(retrieved, budget);
        var messages = BuildMessages(context, request.Task);
        var response = await chatClient.GetResponseAsync(messages, request.ChatOptions, cancellationToken).ConfigureAwait(false);
        var cited = context.ResolveCitations(response.Text);
        return new PromptResult
        {
            Text = response.Text,
            Messages = messages,
            Response = response,
            ModelCalls = 1,
            Usage = response.Usage,
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [CitationsKey] = cited,
                [ContextKey] = context,
            },
        };
    }

    private List<ChatMessage> BuildMessages(PackedContext context, string question)
    {
        var system = $"{_options.SystemPrompt}\n{context.Instruction}\nCite the passages you use with their numbers in square brackets, for example [1] or [2, 3].";
        var user = context.Passages.Count == 0
            ? $"No passages were found.\n\nQuestion: {question}"
            : $"Passages:\n{context.Text}\n\nQuestion: {question}";
        return [new ChatMessage(ChatRole.System, system), new ChatMessage(ChatRole.User, user)];
    }
}
