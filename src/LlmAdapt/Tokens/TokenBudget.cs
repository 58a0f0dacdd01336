using Microsoft.Extensions.AI;

namespace LlmAdapt.Tokens;

/// <summary>
/// How many tokens a prompt may use, counted by a <see cref="TokenCounter"/>, and what happens when it does not fit
/// (<see cref="TokenBudgetOverflow"/>). Thread-safe.
/// </summary>
public sealed class TokenBudget
{
    /// <summary>Initializes a budget.</summary>
    /// <param name="counter">The counter of the model the prompt is for.</param>
    /// <param name="maxTokens">The most tokens the prompt may use, chat overhead included; at least 1.</param>
    /// <param name="overflow">What to do with a prompt that does not fit.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxTokens"/> is less than 1.</exception>
    public TokenBudget(TokenCounter counter, int maxTokens, TokenBudgetOverflow overflow = TokenBudgetOverflow.Throw)
    {
        ArgumentNullException.ThrowIfNull(counter);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        if (!Enum.IsDefined(overflow))
        {
            throw new ArgumentOutOfRangeException(nameof(overflow), overflow, "Unknown overflow rule.");
        }

        Counter = counter;
        MaxTokens = maxTokens;
        Overflow = overflow;
    }

    /// <summary>Gets the counter.</summary>
    public TokenCounter Counter { get; }

    /// <summary>Gets the most tokens a prompt may use.</summary>
    public int MaxTokens { get; }

    /// <summary>Gets the rule for prompts that do not fit.</summary>
    public TokenBudgetOverflow Overflow { get; }

    /// <summary>Returns how many tokens are left after <paramref name="messages"/>; negative when over.</summary>
    /// <param name="messages">The messages.</param>
    /// <returns>The remaining tokens.</returns>
    public int Remaining(IEnumerable<ChatMessage> messages) => MaxTokens - Counter.CountTokens(messages);

    /// <summary>Throws when <paramref name="messages"/> do not fit, whatever the overflow rule.</summary>
    /// <param name="messages">The messages.</param>
    /// <exception cref="TokenBudgetExceededException">The messages need more tokens than the budget.</exception>
    public void EnsureWithin(IEnumerable<ChatMessage> messages)
    {
        var count = Counter.CountTokens(messages);
        if (count > MaxTokens)
        {
            throw new TokenBudgetExceededException(count, MaxTokens);
        }
    }

    /// <summary>Returns <paramref name="text"/> if it fits, else applies the rule: throw, or trim its end.</summary>
    /// <param name="text">The text.</param>
    /// <returns>Text of at most <see cref="MaxTokens"/> tokens.</returns>
    /// <exception cref="TokenBudgetExceededException">The rule is <see cref="TokenBudgetOverflow.Throw"/> and the text does not fit.</exception>
    public string Fit(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var count = Counter.CountTokens(text);
        if (count <= MaxTokens)
        {
            return text;
        }

        if (Overflow == TokenBudgetOverflow.Throw)
        {
            throw new TokenBudgetExceededException(count, MaxTokens, "text");
        }

        return Counter.TrimToTokens(text, MaxTokens);
    }

    /// <summary>Returns <paramref name="messages"/> if they fit, else applies the rule. The input list is not changed.</summary>
    /// <param name="messages">The messages, oldest first.</param>
    /// <returns>Messages that fit the budget.</returns>
    /// <exception cref="TokenBudgetExceededException">The rule cannot make them fit, or the rule is to refuse.</exception>
    public IReadOnlyList<ChatMessage> Fit(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var count = Counter.CountTokens(messages);
        if (count <= MaxTokens)
        {
            return messages;
        }

        switch (Overflow)
        {
            case TokenBudgetOverflow.DropOldestMessages:
            {
                var kept = messages.ToList();
                for (var i = 0; i < kept.Count - 1 && Counter.CountTokens(kept) > MaxTokens;)
                {
                    if (kept[i].Role == ChatRole.System)
                    {
                        i++;
                        continue;
                    }

                    kept.RemoveAt(i);
                }

                return Counter.CountTokens(kept) <= MaxTokens ? kept : TruncateLast(kept, count);
            }

            case TokenBudgetOverflow.TruncateLastMessage:
                return TruncateLast(messages.ToList(), count);

            default:
                throw new TokenBudgetExceededException(count, MaxTokens);
        }
    }

    private List<ChatMessage> TruncateLast(List<ChatMessage> messages, int originalCount)
    {
        if (messages.Count == 0)
        {
            throw new TokenBudgetExceededException(originalCount, MaxTokens);
        }

        var last = messages[^1];
        var withoutText = messages.Take(messages.Count - 1).Append(new ChatMessage(last.Role, string.Empty) { AuthorName = last.AuthorName });
        var room = MaxTokens - Counter.CountTokens(withoutText);
        if (room <= 0)
        {
            throw new TokenBudgetExceededException(originalCount, MaxTokens);
        }

        var trimmed = new ChatMessage(last.Role, Counter.TrimToTokens(last.Text, room))
        {
            AuthorName = last.AuthorName,
            AdditionalProperties = last.AdditionalProperties,
        };
        messages[^1] = trimmed;
        return messages;
    }
}
