using LlmAdapt;
using LlmAdapt.DependencyInjection;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Composition;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Persistence;
using LlmAdapt.Retrieval.Retrievers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the embedded retrieval stack: a <see cref="DocumentIndex"/> and an <see cref="IRetriever"/> over it.</summary>
public static class RetrievalServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RetrievalOptions"/> (bound from <c>LlmAdapt:Retrieval</c>, changed by
    /// <paramref name="configure"/>, validated at start-up), a singleton <see cref="DocumentIndex"/> (loaded from
    /// <see cref="RetrievalOptions.IndexPath"/> when set) and a singleton <see cref="IRetriever"/>: keyword, dense or
    /// hybrid, the dense side using the registered <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c>.
    /// Calling it again registers nothing twice; a second <paramref name="configure"/> runs after the first. An
    /// <see cref="RetrievalOptions.IndexPath"/> naming no file fails start-up validation, naming the path.
    /// </summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddRetrieval(this LlmAdaptBuilder builder, Action<RetrievalOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindOptions(RetrievalOptions.SectionName, configure);

        builder.Services.TryAddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<RetrievalOptions>>().Value;
            if (settings.IndexPath is { } path)
            {
                if (!File.Exists(path))
                {
                    throw new ModelLoadException(Path.GetFullPath(path), "no such index file (LlmAdapt:Retrieval:IndexPath)", null);
                }

                var loaded = DocumentIndexFile.LoadAsync(path).GetAwaiter().GetResult();
                if (settings.RequireAccessControl && !loaded.Options.RequireAccessControl)
                {
                    loaded.Options.RequireAccessControl = true;
                }

                return loaded;
            }

            return new DocumentIndex(new DocumentIndexOptions { RequireAccessControl = settings.RequireAccessControl });
        });
        builder.Services.TryAddSingleton<IRetriever>(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<RetrievalOptions>>().Value;
            var index = sp.GetRequiredService<DocumentIndex>();
            var generator = sp.GetService<IEmbeddingGenerator<string, Embedding<float>>>();
            var access = new RetrieverOptions { RequireAccessControl = settings.RequireAccessControl };
            var hybrid = new HybridOptions { RrfK = settings.RrfK, Method = settings.Fusion };
            return RetrieverFactory.Create(index, settings.Retriever, generator, access, hybrid);
        });
        return builder;
    }
}
