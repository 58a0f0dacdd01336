using Microsoft.Extensions.AI;

namespace LlmAdapt.Preference;

/// <summary>Scores candidate responses to a conversation; higher is better. A trained reward model is one.</summary>
public interface IResponseScorer
{
    /// <summary>Scores each candidate as a reply to <paramref name="conversation"/>.</summary>
    /// <param name="conversation">The messages the candidates answer.</param>
    /// <param name="candidates">The candidate replies' text.</param>
    /// <param name="cancellationToken">Stops scoring.</param>
    /// <returns>One score per candidate, in order.</returns>
    Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default);
}
