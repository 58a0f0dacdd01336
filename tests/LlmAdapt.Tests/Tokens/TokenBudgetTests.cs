using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Tokens;

public sealed class TokenBudgetTests
{
    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");

    private static List<ChatMessage> Conversation() =>
    [
        new(ChatRole.System, "You answer questions about Shakespeare."),
        new(ChatRole.User, "Who speaks first in Coriolanus?"),
        new(ChatRole.Assistant, "The First Citizen speaks first, urging the crowd to resolve to die rather than famish."),
        new(ChatRole.User, "And what does the crowd answer? Please quote it exactly, with the speaker names, in full."),
    ];

    [Fact]
    public void Throw_RefusesWithBothNumbers()
    {
        var messages = Conversation();
        var needed = s_counter.CountTokens(messages);
        var budget = new TokenBudget(s_counter, needed - 5);

        var ex = Assert.Throws<TokenBudgetExceededException>(() => budget.Fit(messages));
        Assert.Equal(needed, ex.RequiredTokens);
        Assert.Equal(needed - 5, ex.BudgetTokens);
        Assert.Contains(needed.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        Assert.Throws<TokenBudgetExceededException>(() => budget.EnsureWithin(messages));
    }

    [Fact]
    public void Fitting_ReturnsTheSameMessages()
    {
        var messages = Conversation();
        var budget = new TokenBudget(s_counter, s_counter.CountTokens(messages));
        Assert.Same(messages, budget.Fit(messages));
        Assert.Equal(0, budget.Remaining(messages));
    }

    [Fact]
    public void DropOldest_KeepsSystemAndLastMessage()
    {
        var messages = Conversation();
        var withoutFirstUser = s_counter.CountTokens([messages[0], messages[2], messages[3]]);
        var budget = new TokenBudget(s_counter, withoutFirstUser, TokenBudgetOverflow.DropOldestMessages);

        var fitted = budget.Fit(messages);

        Assert.Equal([messages[0], messages[2], messages[3]], fitted);
        Assert.True(s_counter.CountTokens(fitted) <= budget.MaxTokens);
        Assert.Equal(4, messages.Count);
    }

    [Fact]
    public void DropOldest_ThenTruncatesTheLastMessage_WhenDroppingIsNotEnough()
    {
        var messages = Conversation();
        var budget = new TokenBudget(s_counter, s_counter.CountTokens([messages[0], messages[3]]) - 6, TokenBudgetOverflow.DropOldestMessages);

        var fitted = budget.Fit(messages);

        Assert.Equal(2, fitted.Count);
        Assert.Equal(ChatRole.System, fitted[0].Role);
        Assert.StartsWith(fitted[1].Text, messages[3].Text, StringComparison.Ordinal);
        Assert.True(fitted[1].Text.Length > 0 && fitted[1].Text.Length < messages[3].Text.Length, "the last message is cut, not dropped or kept whole");
        Assert.True(s_counter.CountTokens(fitted) <= budget.MaxTokens);
        Assert.True(s_counter.CountTokens(fitted) >= budget.MaxTokens - 2, $"{s_counter.CountTokens(fitted)} tokens for a budget of {budget.MaxTokens}");
    }

    [Fact]
    public void TruncateLast_CutsOnlyTheLastMessage()
    {
        var messages = Conversation();
        var budget = new TokenBudget(s_counter, s_counter.CountTokens(messages) - 4, TokenBudgetOverflow.TruncateLastMessage);

        var fitted = budget.Fit(messages);

        Assert.Equal(messages.Take(3), fitted.Take(3));
        Assert.NotEqual(messages[3].Text, fitted[3].Text);
        Assert.True(s_counter.CountTokens(fitted) <= budget.MaxTokens);
    }

    [Fact]
    public void TruncateLast_Refuses_WhenTheRestAloneIsTooLong()
    {
        var messages = Conversation();
        var budget = new TokenBudget(s_counter, 10, TokenBudgetOverflow.TruncateLastMessage);
        Assert.Throws<TokenBudgetExceededException>(() => budget.Fit(messages));
    }

    [Fact]
    public void Text_IsTrimmedOrRefusedByRule()
    {
        const string text = "Before we proceed any further, hear me speak.";
        Assert.Throws<TokenBudgetExceededException>(() => new TokenBudget(s_counter, 3).Fit(text));
        var trimmed = new TokenBudget(s_counter, 3, TokenBudgetOverflow.TruncateLastMessage).Fit(text);
        Assert.Equal(3, s_counter.CountTokens(trimmed));
    }

    [Fact]
    public void InvalidBudget_IsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBudget(s_counter, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBudget(s_counter, 5, (TokenBudgetOverflow)42));
    }

    [Fact]
    public async Task Middleware_HoldsRequestsToTheBudget()
    {
        var seen = new List<ChatMessage>();
        using var inner = new RecordingClient(seen);
        var budget = new TokenBudget(s_counter, 40, TokenBudgetOverflow.DropOldestMessages);
        using var client = new ChatClientBuilder(inner).UseTokenBudget(budget).Build();

        await client.GetResponseAsync(Conversation());

        Assert.True(s_counter.CountTokens(seen) <= 40);
        Assert.Equal(ChatRole.System, seen[0].Role);
    }

    private sealed class RecordingClient(List<ChatMessage> seen) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            seen.AddRange(messages);
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
