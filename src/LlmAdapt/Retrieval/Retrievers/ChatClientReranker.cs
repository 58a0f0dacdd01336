using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LlmAdapt.Retrieval.Packing;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Retrieval.Retrievers;

/// <summary>
/// Reranks by asking a chat model to order numbered passages by relevance. Passages are fenced as untrusted data;
/// the reply is read as a list of passage numbers, and passages the model leaves out keep their original order after
/// the ones it names.
/// </summary>
/// <param name="chatClient">The model.</param>
/// <param name="chatOptions">Options for the call, or <see langword="null"/>.</param>
public sealed partial class ChatClientReranker(IChatClient chatClient, ChatOptions? chatOptions = null) : IReranker
{
    private readonly IChatClient _chatClient = chatClient ?? throw new ArgumentNullException(nameof(chatClient));

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RetrievedChunk>> RerankAsync(string query, IReadOnlyList<RetrievedChunk> candidates, int topK, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        if (candidates.Count == 0)
        {
            return [];
        }

        var fence = Fence.Create();
        var prompt = new StringBuilder();
        prompt.AppendLine(CultureInfo.InvariantCulture, $"Question: {query}");
        prompt.AppendLine();
        for (var i = 0; i < candidates.Count; i++)
        {
            prompt.AppendLine(fence.Wrap(i + 1, candidates[i].Chunk.Source ?? candidates[i].Chunk.DocumentId, candidates[i].Chunk.Text));
        }

        prompt.AppendLine();
        prompt.Append(CultureInfo.InvariantCulture, $"List the passage numbers from most to least relevant to the question, comma-separated, numbers only (1 to {candidates.Count}).");
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, "You rank passages by how well they answer a question. " + fence.Instruction),
            new(ChatRole.User, prompt.ToString()),
        };
        var response = await _chatClient.GetResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false);

        var order = new List<int>();
        foreach (Match match in Number().Matches(response.Text))
        {
            if (int.TryParse(match.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= candidates.Count && !order.Contains(n - 1))
            {
                order.Add(n - 1);
            }
        }

        order.AddRange(Enumerable.Range(0, candidates.Count).Where(i => !order.Contains(i)));
        return [.. order.Take(topK).Select((i, rank) => candidates[i] with { Score = candidates.Count - rank, Rank = rank + 1 })];
    }

    [GeneratedRegex(@"\d+", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Number();
}
