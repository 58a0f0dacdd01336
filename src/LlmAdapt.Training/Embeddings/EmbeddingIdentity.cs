using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Embeddings;

/// <summary>What identifies an encoder's embedding space: the model id its metadata reports.</summary>
internal static class EmbeddingIdentity
{
    public static string? ModelIdOf(IEmbeddingGenerator generator)
    {
        var metadata = generator.GetService(typeof(EmbeddingGeneratorMetadata)) as EmbeddingGeneratorMetadata;
        return string.IsNullOrWhiteSpace(metadata?.DefaultModelId) ? null : metadata.DefaultModelId;
    }

    public static string Resolve(IEmbeddingGenerator generator, string? configured)
    {
        var reported = ModelIdOf(generator);
        if (configured is not null && reported is not null && !string.Equals(configured, reported, StringComparison.Ordinal))
        {
            throw new LlmAdaptException($"The options name embedding model '{configured}' but the generator reports '{reported}'.");
        }

        return configured ?? reported
            ?? throw new LlmAdaptException("The embedding generator reports no model id (EmbeddingGeneratorMetadata.DefaultModelId); set EmbeddingModelId in the options so the head is bound to its encoder.");
    }
}
