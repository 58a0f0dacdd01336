using LlmAdapt.Preference;
using LlmAdapt.Training.Embeddings;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Reward;

/// <summary>Turns (prompt, response) items into reward-model feature rows by the configured <see cref="RewardFeatures"/>.</summary>
internal sealed class RewardFeaturizer(IEmbeddingGenerator<string, Embedding<float>> embeddings, RewardFeatures features, int promptTailCharacters)
{
    public static readonly RewardFeatures[] EmbeddingParts = [RewardFeatures.Response, RewardFeatures.PromptAndResponse, RewardFeatures.Prompt];

    public static IReadOnlyList<string> Names(RewardFeatures features)
        => Enum.GetValues<RewardFeatures>().Where(f => f != RewardFeatures.None && features.HasFlag(f)).Select(f => f.ToString()).ToArray();

    public static RewardFeatures Parse(IEnumerable<string> names)
        => names.Aggregate(RewardFeatures.None, (acc, n) => acc | Enum.Parse<RewardFeatures>(n));

    /// <summary>The end of the prompt, from a turn boundary where one falls inside the window.</summary>
    public static string PromptTail(string prompt, int characters)
    {
        if (prompt.Length <= characters)
        {
            return prompt;
        }

        var tail = prompt[^characters..];
        var turn = tail.IndexOf(DialogueText.HumanMarker, StringComparison.Ordinal);
        return turn > 0 ? tail[turn..] : tail;
    }

    public async Task<(float[][] Rows, int EmbeddingDimension)> FeaturesAsync(
        IReadOnlyList<(string Prompt, string Response)> items,
        Func<int, string> describe,
        IProgress<EmbeddingProgress>? progress,
        CancellationToken cancellationToken,
        int expectedDimension = 0)
    {
        var parts = EmbeddingParts.Where(p => features.HasFlag(p)).ToArray();
        var interaction = features.HasFlag(RewardFeatures.Interaction);

        // Texts to embed per item: the flagged parts, then (for the interaction) the response and prompt if not among them.
        var embedded = interaction ? parts.Union([RewardFeatures.Response, RewardFeatures.Prompt]).ToArray() : parts;
        var texts = new string[items.Count * embedded.Length];
        for (var i = 0; i < items.Count; i++)
        {
            var (prompt, response) = items[i];
            for (var p = 0; p < embedded.Length; p++)
            {
                texts[(i * embedded.Length) + p] = embedded[p] switch
                {
                    RewardFeatures.Response => response,
                    RewardFeatures.PromptAndResponse => DialogueText.Join(PromptTail(prompt, promptTailCharacters), response),
                    _ => PromptTail(prompt, promptTailCharacters),
                };
            }
        }

        var (vectors, dimension) = texts.Length == 0
            ? ([], expectedDimension)
            : await TextFeatures.EmbedAsync(embeddings, texts, t => describe(t / embedded.Length), progress, cancellationToken, expectedDimension).ConfigureAwait(false);
        var withLength = features.HasFlag(RewardFeatures.Length);
        var width = ((parts.Length + (interaction ? 1 : 0)) * dimension) + (withLength ? 1 : 0);
        var responseAt = Array.IndexOf(embedded, RewardFeatures.Response);
        var promptAt = Array.IndexOf(embedded, RewardFeatures.Prompt);
        var rows = new float[items.Count][];
        for (var i = 0; i < items.Count; i++)
        {
            var row = new float[width];
            for (var p = 0; p < parts.Length; p++)
            {
                vectors[(i * embedded.Length) + p].CopyTo(row, p * dimension);
            }

            if (interaction)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(
                    vectors[(i * embedded.Length) + responseAt],
                    vectors[(i * embedded.Length) + promptAt],
                    row.AsSpan(parts.Length * dimension, dimension));
            }

            if (withLength)
            {
                row[^1] = (float)Math.Log(1 + items[i].Response.Trim().Length);
            }

            rows[i] = row;
        }

        return (rows, dimension);
    }
}
