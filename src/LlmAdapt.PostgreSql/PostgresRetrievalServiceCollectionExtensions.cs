using LlmAdapt.DependencyInjection;
using LlmAdapt.PostgreSql;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Composition;
using LlmAdapt.Retrieval.Retrievers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers retrieval over PostgreSQL + pgvector: a <see cref="PostgresDocumentStore"/> and an <see cref="IRetriever"/> over it.</summary>
public static class PostgresRetrievalServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PostgresRetrievalOptions"/> (bound from <c>LlmAdapt:PostgreSql</c>, changed by
    /// <paramref name="configure"/>, validated at start-up), a singleton <see cref="PostgresDocumentStore"/> (schema
    /// created or checked on first use) and a singleton <see cref="IRetriever"/>: keyword, dense or hybrid
    /// (named and fused as <see cref="RetrieverFactory"/> does for the in-process index). The store uses an <see cref="NpgsqlDataSource"/>
    /// registered by the host (built with <c>UseVector()</c>) or, when there is none, one built from
    /// <see cref="PostgresRetrievalOptions.ConnectionString"/>. Calling it twice registers nothing twice.
    /// </summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddPostgresRetrieval(this LlmAdaptBuilder builder, Action<PostgresRetrievalOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindOptions(PostgresRetrievalOptions.SectionName, configure);

        builder.Services.TryAddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<PostgresRetrievalOptions>>().Value;
            var generator = sp.GetService<IEmbeddingGenerator<string, Embedding<float>>>();
            var hostSource = sp.GetService<NpgsqlDataSource>();
            if (hostSource is null && string.IsNullOrWhiteSpace(settings.ConnectionString))
            {
                throw new PostgresRetrievalException(PostgresProblem.InvalidConnectionString, "AddPostgresRetrieval needs an NpgsqlDataSource registration or PostgresRetrievalOptions.ConnectionString.");
            }

            var dataSource = hostSource ?? PostgresDocumentStore.CreateDataSource(settings.ConnectionString!);
            return PostgresDocumentStore.OpenCoreAsync(dataSource, ownsDataSource: hostSource is null, settings, generator, sp.GetService<TimeProvider>() ?? TimeProvider.System, CancellationToken.None).GetAwaiter().GetResult();
        });
        builder.Services.TryAddSingleton<IRetriever>(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<PostgresRetrievalOptions>>().Value;
            var store = sp.GetRequiredService<PostgresDocumentStore>();
            var generator = sp.GetService<IEmbeddingGenerator<string, Embedding<float>>>();
            return CreateRetriever(store, settings.Retriever, generator, new RetrieverOptions { RequireAccessControl = settings.RequireAccessControl });
        });
        return builder;
    }

    /// <summary>
    /// Creates the retriever named <paramref name="kind"/> over <paramref name="store"/>, by the names and defaults of
    /// <see cref="RetrieverFactory"/>: <c>keyword</c> (<c>bm25</c> is a synonym), <c>dense</c> or <c>hybrid</c>.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="kind">A retriever name, or <see langword="null"/> for hybrid with a generator and keyword without.</param>
    /// <param name="generator">The embedding model (needed by dense and hybrid).</param>
    /// <param name="access">Access rules.</param>
    /// <param name="hybrid">Fusion settings for hybrid, or <see langword="null"/> for <see cref="RetrieverFactory.DefaultFusion"/> with equal weights.</param>
    /// <returns>The retriever.</returns>
    /// <exception cref="ArgumentException">The kind is unknown.</exception>
    /// <exception cref="InvalidOperationException">Dense or hybrid search is asked for without a generator.</exception>
    public static IRetriever CreateRetriever(PostgresDocumentStore store, string? kind, IEmbeddingGenerator<string, Embedding<float>>? generator, RetrieverOptions? access = null, HybridOptions? hybrid = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        access ??= new RetrieverOptions();
        return RetrieverFactory.Compose(
            kind,
            new PostgresKeywordRetriever(store, access),
            generator is null ? null : new PostgresDenseRetriever(store, generator, access),
            access,
            hybrid);
    }
}
