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

    /// <summary>
    /// Checks a request's base model against the encoder a head is trained on: a head has no base model of its own, so
    /// the only base it can honour is that encoder (its model id); anything else is refused rather than ignored.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="requested"/> is set and is not <paramref name="modelId"/>.</exception>
    public static void RequireBaseModel(string? requested, string modelId, string parameterName)
    {
        if (requested is not null && !string.Equals(requested, modelId, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"BaseModel is '{requested}', but a head is trained on the embeddings of the generator it was given, whose model is '{modelId}'; leave BaseModel null or set it to '{modelId}' (to train on another encoder, pass that encoder's IEmbeddingGenerator).",
                parameterName);
        }
    }
}
