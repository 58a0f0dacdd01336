using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.Internal;

/// <summary>Applies the per-call prompt budget: the request's limit wins over the options' limit; no limit, no check.</summary>
internal static class PromptBudget
{
    public static int? Limit(PromptRequest request, int? optionsLimit) => request.MaxPromptTokens ?? optionsLimit;

    public static IReadOnlyList<ChatMessage> Fit(TokenCounter counter, IReadOnlyList<ChatMessage> messages, int? limit, TokenBudgetOverflow overflow)
        => limit is { } max ? new TokenBudget(counter, max, overflow).Fit(messages) : messages;
}
