namespace LlmAdapt.Tokens;

/// <summary>
/// The tokens a chat format adds around message content. The defaults are OpenAI's published numbers for its
/// chat models: 3 tokens a message, 1 more when the message has an author name, and 3 to prime the reply.
/// </summary>
/// <param name="PerMessage">Tokens added for every message (role and delimiters).</param>
/// <param name="PerName">Tokens added when a message carries an author name.</param>
/// <param name="ReplyPriming">Tokens added once, for the start of the assistant's reply.</param>
public sealed record ChatTokenOverhead(int PerMessage = 3, int PerName = 1, int ReplyPriming = 3)
{
    /// <summary>Gets OpenAI's overhead for its chat models (3, 1, 3).</summary>
    public static ChatTokenOverhead OpenAI { get; } = new();

    /// <summary>Gets no overhead at all: only the content is counted.</summary>
    public static ChatTokenOverhead None { get; } = new(0, 0, 0);
}
