using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.FewShot;

/// <summary>
/// Takes another selector's examples in its order and keeps adding them, as the user/assistant turns they become,
/// until the next one would take the total over a token budget; that example and all after it are left out.
/// </summary>
public sealed class TokenBudgetExampleSelector : IExampleSelector
{
    private readonly IExampleSelector _inner;
    private readonly TokenCounter _counter;

    /// <summary>Initializes the selector.</summary>
    /// <param name="inner">Gives the candidate examples, most useful first (for example a <see cref="FixedExampleSelector"/> over the whole pool).</param>
    /// <param name="tokenCounter">Counts the tokens of each example's turns.</param>
    /// <param name="maxTokens">The most tokens all selected examples may use together, chat overhead included; at least 1.</param>
    public TokenBudgetExampleSelector(IExampleSelector inner, TokenCounter tokenCounter, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(tokenCounter);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        _inner = inner;
        _counter = tokenCounter;
        MaxTokens = maxTokens;
    }

    /// <summary>Gets the most tokens the selected examples may use together.</summary>
    public int MaxTokens { get; }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<PromptExample>> SelectAsync(string input, CancellationToken cancellationToken = default)
    {
        var candidates = await _inner.SelectAsync(input, cancellationToken).ConfigureAwait(false);
        var selected = new List<PromptExample>();
        var used = 0;
        foreach (var example in candidates)
        {
            var cost = CostOf(_counter, example);
            if (used + cost > MaxTokens)
            {
                break;
            }

            used += cost;
            selected.Add(example);
        }

        return selected;
    }

    internal static int CostOf(TokenCounter counter, PromptExample example)
        => counter.CountTokens(new ChatMessage(ChatRole.User, example.Input)) + counter.CountTokens(new ChatMessage(ChatRole.Assistant, example.Output));
}
