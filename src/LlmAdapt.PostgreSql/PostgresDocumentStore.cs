using System.Data;
using System.Globalization;
using System.Text.Json;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;
using Microsoft.Extensions.AI;
using Npgsql;
using NpgsqlTypes;
using Pgvector;
using Polly;
using Polly.Retry;

namespace LlmAdapt.PostgreSql;

/// <summary>
/// Keeps chunks, their metadata, access lists and embeddings in one PostgreSQL table (pgvector) and searches them:
/// dense (HNSW with cosine distance, or exact) and keyword (PostgreSQL full text). Metadata filters and access lists
/// are applied in the <c>WHERE</c> clause, before ranking. Each write carries whole documents in one transaction, so
/// a reader sees every chunk of a document or none. Open it with <see cref="OpenAsync(NpgsqlDataSource, PostgresRetrievalOptions, IEmbeddingGenerator{string, Embedding{float}}?, CancellationToken)"/>,
/// which creates or checks the schema. Runs on PostgreSQL 15 or later with pgvector 0.7 or later.
/// </summary>
public sealed class PostgresDocumentStore : IAsyncDisposable
{
    /// <summary>The metadata key under which each search result records how it was found: <c>pgvector-hnsw</c>, <c>pgvector-exact</c> or <c>postgres-fulltext</c>.</summary>
    public const string SearchMethodKey = "llmadapt.search_method";

    private const string Columns = "chunk_id, document_id, chunk_index, start_offset, end_offset, token_count, source, title, body, metadata::text, allowed_principals";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresSchema _schema;
    private readonly ResiliencePipeline _retry;
    private readonly string _endpoint;
    private bool _iterativeScan;
    private int _retries;

    private PostgresDocumentStore(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresRetrievalOptions options, PostgresSchema schema, TimeProvider timeProvider)
    {
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        Options = options;
        _schema = schema;
        _endpoint = Endpoint(dataSource.ConnectionString);
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.RetryDelay,
                UseJitter = false,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is NpgsqlException { IsTransient: true }),
                OnRetry = _ =>
                {
                    Interlocked.Increment(ref _retries);
                    return ValueTask.CompletedTask;
                },
            });
        }

        _retry = builder.Build();
    }

    /// <summary>Gets the options (validated).</summary>
    public PostgresRetrievalOptions Options { get; }

    /// <summary>Gets the embeddings' length, the vector column's.</summary>
    public int Dimensions { get; private set; }

    /// <summary>Gets the installed pgvector version, for example <c>0.8.0</c>.</summary>
    public string PgvectorVersion { get; private set; } = "";

    /// <summary>Gets how many transient failures have been retried so far.</summary>
    public int RetryCount => Volatile.Read(ref _retries);

    /// <summary>Builds a data source for <paramref name="connectionString"/> with the pgvector type mapping.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <returns>The data source; the caller disposes it.</returns>
    /// <exception cref="PostgresRetrievalException">The connection string cannot be parsed (the message names the problem, not the string, which may hold a password).</exception>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        NpgsqlDataSourceBuilder builder;
        try
        {
            builder = new NpgsqlDataSourceBuilder(connectionString);
            _ = builder.ConnectionStringBuilder.Host ?? throw new ArgumentException("it names no Host");
        }
        catch (ArgumentException e)
        {
            throw new PostgresRetrievalException(PostgresProblem.InvalidConnectionString, $"The PostgreSQL connection string is malformed: {e.Message}", e);
        }

        builder.UseVector();
        return builder.Build();
    }

    /// <summary>Opens a store over a connection string; the store owns (and disposes) the data source it builds.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="options">Where the table is and how to search it; validated here.</param>
    /// <param name="generator">The embedding model, used to learn the dimension when the options do not give it; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the schema work.</param>
    /// <returns>The store, with its schema created or checked.</returns>
    /// <exception cref="InvalidOptionsException">The options are invalid (every problem is listed).</exception>
    /// <exception cref="PostgresRetrievalException">The connection string cannot be parsed, the server is unreachable, pgvector is missing, or the table does not fit.</exception>
    public static async Task<PostgresDocumentStore> OpenAsync(string connectionString, PostgresRetrievalOptions options, IEmbeddingGenerator<string, Embedding<float>>? generator = null, CancellationToken cancellationToken = default)
    {
        var dataSource = CreateDataSource(connectionString);
        try
        {
            return await OpenCoreAsync(dataSource, ownsDataSource: true, options, generator, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens a store over a data source the host owns (built with <c>UseVector()</c> from the Pgvector package):
    /// creates the schema, the pgvector extension, the table and its indexes when missing, and checks an existing
    /// table's schema version and vector length.
    /// </summary>
    /// <param name="dataSource">The data source; not disposed by the store.</param>
    /// <param name="options">Where the table is and how to search it; validated here.</param>
    /// <param name="generator">The embedding model, used to learn the dimension when the options do not give it; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the schema work.</param>
    /// <returns>The store.</returns>
    /// <exception cref="InvalidOptionsException">The options are invalid (every problem is listed).</exception>
    /// <exception cref="PostgresRetrievalException">The server is unreachable, pgvector is missing, or the table does not fit.</exception>
    public static Task<PostgresDocumentStore> OpenAsync(NpgsqlDataSource dataSource, PostgresRetrievalOptions options, IEmbeddingGenerator<string, Embedding<float>>? generator = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return OpenCoreAsync(dataSource, ownsDataSource: false, options, generator, TimeProvider.System, cancellationToken);
    }

    internal static async Task<PostgresDocumentStore> OpenCoreAsync(NpgsqlDataSource dataSource, bool ownsDataSource, PostgresRetrievalOptions options, IEmbeddingGenerator<string, Embedding<float>>? generator, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var store = new PostgresDocumentStore(dataSource, ownsDataSource, options, new PostgresSchema(options), timeProvider);
        var dimensions = options.Dimensions ?? await DimensionsOfAsync(generator, cancellationToken).ConfigureAwait(false);
        await store.EnsureSchemaAsync(dimensions, cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <summary>Counts the chunks in the table.</summary>
    /// <param name="cancellationToken">Stops the query.</param>
    /// <returns>The number of chunks.</returns>
    public Task<long> CountAsync(CancellationToken cancellationToken = default) =>
        RunAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"SELECT count(*) FROM {_schema.Table}", connection);
            return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }, cancellationToken);

    /// <summary>Returns the ids of the documents in the table with their chunk counts.</summary>
    /// <param name="cancellationToken">Stops the query.</param>
    /// <returns>Document id → number of chunks.</returns>
    public Task<IReadOnlyDictionary<string, int>> CountChunksByDocumentAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyDictionary<string, int>>(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"SELECT document_id, count(*)::int FROM {_schema.Table} GROUP BY document_id", connection);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                counts[reader.GetString(0)] = reader.GetInt32(1);
            }

            return counts;
        }, cancellationToken);

    /// <summary>
    /// Adds <paramref name="chunks"/>, embedding them first when <paramref name="generator"/> is given, as
    /// <see cref="DocumentIndexer.AddAsync"/> does for the in-process index: chunks are grouped by document, each
    /// batch of whole documents (up to <see cref="PostgresRetrievalOptions.BatchSize"/> chunks) is embedded and
    /// written with one insert statement in one transaction, replacing the documents' previous chunks.
    /// </summary>
    /// <param name="chunks">The chunks.</param>
    /// <param name="generator">The embedding model (the same one as queries use), or <see langword="null"/> to store no embeddings (keyword search only).</param>
    /// <param name="progress">Receives the number of chunks written so far.</param>
    /// <param name="cancellationToken">Stops between batches; a batch already sent commits or rolls back whole.</param>
    /// <returns>A task that completes when every chunk is stored.</returns>
    public async Task AddAsync(IReadOnlyList<DocumentChunk> chunks, IEmbeddingGenerator<string, Embedding<float>>? generator = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        var written = 0;
        foreach (var batch in Batches(chunks))
        {
            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<ReadOnlyMemory<float>>? vectors = null;
            if (generator is not null)
            {
                var embeddings = await generator.GenerateAsync(batch.Select(DocumentIndexer.TextForEmbedding), cancellationToken: cancellationToken).ConfigureAwait(false);
                if (embeddings.Count != batch.Count)
                {
                    throw new LlmAdaptException($"The embedding model returned {embeddings.Count} embeddings for {batch.Count} chunks.");
                }

                vectors = [.. embeddings.Select(e => e.Vector)];
            }

            await WriteBatchAsync(batch, vectors, cancellationToken).ConfigureAwait(false);
            written += batch.Count;
            progress?.Report(written);
        }
    }

    /// <summary>
    /// Writes chunks with embeddings already computed (for example from a cache), in batches of whole documents,
    /// one statement and one transaction per batch, replacing the documents' previous chunks.
    /// </summary>
    /// <param name="chunks">The chunks.</param>
    /// <param name="embeddings">One embedding per chunk, in the same order, each <see cref="Dimensions"/> long.</param>
    /// <param name="progress">Receives the number of chunks written so far.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>A task that completes when every chunk is stored.</returns>
    /// <exception cref="ArgumentException">The counts differ.</exception>
    /// <exception cref="PostgresRetrievalException">An embedding is not <see cref="Dimensions"/> long (<see cref="PostgresProblem.DimensionMismatch"/>); the batches before the one holding it are already stored.</exception>
    public async Task UpsertAsync(IReadOnlyList<DocumentChunk> chunks, IReadOnlyList<ReadOnlyMemory<float>> embeddings, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(embeddings);
        if (chunks.Count != embeddings.Count)
        {
            throw new ArgumentException($"{embeddings.Count} embeddings for {chunks.Count} chunks.", nameof(embeddings));
        }

        var vectorOf = new Dictionary<DocumentChunk, ReadOnlyMemory<float>>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < chunks.Count; i++)
        {
            vectorOf[chunks[i]] = embeddings[i];
        }

        var written = 0;
        foreach (var batch in Batches(chunks))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await WriteBatchAsync(batch, [.. batch.Select(c => vectorOf[c])], cancellationToken).ConfigureAwait(false);
            written += batch.Count;
            progress?.Report(written);
        }
    }

    /// <summary>
    /// Builds the HNSW index on the embedding column when it is missing (<c>CREATE INDEX IF NOT EXISTS</c>, with
    /// <see cref="PostgresRetrievalOptions.HnswM"/> and <see cref="PostgresRetrievalOptions.HnswEfConstruction"/>).
    /// A store opened with <see cref="PostgresVectorIndex.None"/> and bulk-loaded first builds its index faster this
    /// way than by maintaining it row by row, as pgvector's documentation advises.
    /// </summary>
    /// <param name="maintenanceWorkMemory">PostgreSQL's <c>maintenance_work_mem</c> for the build (for example <c>1GB</c>: the build is much faster when the graph fits), or <see langword="null"/> for the server's setting.</param>
    /// <param name="cancellationToken">Stops the build (the transaction rolls back).</param>
    /// <returns>A task that completes when the index exists.</returns>
    public Task CreateVectorIndexAsync(string? maintenanceWorkMemory = null, CancellationToken cancellationToken = default) =>
        RunAsync(async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            if (maintenanceWorkMemory is not null)
            {
                await SetLocalAsync(connection, "maintenance_work_mem", maintenanceWorkMemory, ct).ConfigureAwait(false);
            }

            await ExecuteAsync(connection, _schema.HnswStatement(Options), ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Deletes every chunk of the document <paramref name="documentId"/>, in one transaction.</summary>
    /// <param name="documentId">The document's id.</param>
    /// <param name="cancellationToken">Stops the statement.</param>
    /// <returns>How many chunks were deleted.</returns>
    public Task<int> DeleteDocumentAsync(string documentId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documentId);
        return RunAsync(async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"DELETE FROM {_schema.Table} WHERE document_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = documentId, NpgsqlDbType = NpgsqlDbType.Text });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Returns the chunks whose embeddings are closest to <paramref name="query"/> by cosine distance (score = 1 − distance).</summary>
    /// <param name="query">The query's embedding, <see cref="Dimensions"/> long.</param>
    /// <param name="topK">How many chunks at most; at least 1.</param>
    /// <param name="filter">Metadata conditions every result satisfies, or <see langword="null"/>.</param>
    /// <param name="principal">Who is asking; results are limited to chunks whose access list names the principal or one of its groups.</param>
    /// <param name="cancellationToken">Stops the query.</param>
    /// <returns>The chunks, best first, ranked from 1. With HNSW, pgvector's iterative scan (0.8 and later) keeps
    /// searching until k rows pass the filters; when it still returns fewer than k, the query is run again exactly,
    /// so k results come back whenever k allowed chunks exist.</returns>
    /// <exception cref="AccessDeniedException">Access control is required and no principal is given.</exception>
    public Task<IReadOnlyList<RetrievedChunk>> SearchVectorAsync(ReadOnlyMemory<float> query, int topK, RetrievalFilter? filter = null, Principal? principal = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        Gate(principal);
        if (query.Length != Dimensions)
        {
            throw new ArgumentException($"The query embedding has {query.Length} dimensions but the table '{_schema.TableName}' holds {Dimensions}-dimensional ones.", nameof(query));
        }

        var vector = new Vector(query);
        return RunAsync<IReadOnlyList<RetrievedChunk>>(async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
            var exact = Options.ExactSearch || Options.VectorIndex == PostgresVectorIndex.None;
            if (exact)
            {
                await SetLocalAsync(connection, "enable_indexscan", "off", ct).ConfigureAwait(false);
            }
            else
            {
                await SetLocalAsync(connection, "hnsw.ef_search", Options.HnswEfSearch.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                if (_iterativeScan)
                {
                    await SetLocalAsync(connection, "hnsw.iterative_scan", "relaxed_order", ct).ConfigureAwait(false);
                }
            }

            var results = await QueryVectorAsync(connection, vector, topK, filter, principal, exact ? "pgvector-exact" : "pgvector-hnsw", ct).ConfigureAwait(false);
            if (!exact && results.Count < topK)
            {
                // The stated fallback: the index ran out of candidates before k rows passed the filters.
                await SetLocalAsync(connection, "enable_indexscan", "off", ct).ConfigureAwait(false);
                results = await QueryVectorAsync(connection, vector, topK, filter, principal, "pgvector-exact", ct).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return results;
        }, cancellationToken);
    }

    /// <summary>
    /// Returns the chunks that best match <paramref name="query"/> by PostgreSQL full text (the configured text
    /// search configuration; any query term may match; ranked by <c>ts_rank</c>). A query of only stop words
    /// matches nothing.
    /// </summary>
    /// <param name="query">The query text.</param>
    /// <param name="topK">How many chunks at most; at least 1.</param>
    /// <param name="filter">Metadata conditions every result satisfies, or <see langword="null"/>.</param>
    /// <param name="principal">Who is asking; results are limited to what the principal may see.</param>
    /// <param name="cancellationToken">Stops the query.</param>
    /// <returns>The chunks, best first, ranked from 1.</returns>
    /// <exception cref="AccessDeniedException">Access control is required and no principal is given.</exception>
    public Task<IReadOnlyList<RetrievedChunk>> SearchKeywordAsync(string query, int topK, RetrievalFilter? filter = null, Principal? principal = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        Gate(principal);
        return RunAsync<IReadOnlyList<RetrievedChunk>>(async (connection, ct) =>
        {
            var parameters = new List<NpgsqlParameter>
            {
                new() { Value = query, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = _schema.TextConfig, NpgsqlDbType = NpgsqlDbType.Text },
            };
            var where = Conditions(filter, principal, parameters);
            parameters.Add(new() { Value = topK, NpgsqlDbType = NpgsqlDbType.Integer });
            var sql = $"""
                WITH q AS (SELECT replace(plainto_tsquery($2::regconfig, $1)::text, ' & ', ' | ')::tsquery AS q)
                SELECT {Columns}, ts_rank(t.search_vector, q.q) AS score
                FROM {_schema.Table} t, q
                WHERE t.search_vector @@ q.q{where}
                ORDER BY score DESC, chunk_id
                LIMIT ${parameters.Count}
                """;
            return await ReadResultsAsync(connection, sql, parameters, "postgres-fulltext", distance: false, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<int> DimensionsOfAsync(IEmbeddingGenerator<string, Embedding<float>>? generator, CancellationToken cancellationToken)
    {
        if (generator is null)
        {
            throw new PostgresRetrievalException(PostgresProblem.DimensionMismatch, "The embeddings' length is unknown: set PostgresRetrievalOptions.Dimensions or give the embedding generator.");
        }

        if (generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelDimensions is int known and > 0)
        {
            return known;
        }

        var probe = await generator.GenerateAsync("dimension probe", cancellationToken: cancellationToken).ConfigureAwait(false);
        return probe.Vector.Length;
    }

    private static string Endpoint(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    private static async Task SetLocalAsync(NpgsqlConnection connection, string name, string value, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT set_config($1, $2, true)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = name, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DocumentChunk ReadChunk(NpgsqlDataReader reader, string method)
    {
        var metadata = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(9)) ?? [];
        metadata[SearchMethodKey] = method;
        return new DocumentChunk
        {
            Id = reader.GetString(0),
            DocumentId = reader.GetString(1),
            Index = reader.GetInt32(2),
            StartOffset = reader.GetInt32(3),
            EndOffset = reader.GetInt32(4),
            TokenCount = reader.GetInt32(5),
            Source = reader.IsDBNull(6) ? null : reader.GetString(6),
            Title = reader.IsDBNull(7) ? null : reader.GetString(7),
            Text = reader.GetString(8),
            Metadata = metadata,
            AllowedPrincipals = reader.IsDBNull(10) ? null : reader.GetFieldValue<string[]>(10),
        };
    }

    private static string Json(IReadOnlyDictionary<string, string> metadata) => JsonSerializer.Serialize(metadata);

    // Groups chunks by document (first appearance order) and cuts batches of whole documents of up to BatchSize chunks.
    private IEnumerable<List<DocumentChunk>> Batches(IReadOnlyList<DocumentChunk> chunks)
    {
        var byDocument = new Dictionary<string, List<DocumentChunk>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var chunk in chunks)
        {
            ArgumentNullException.ThrowIfNull(chunk);
            ArgumentException.ThrowIfNullOrEmpty(chunk.Id, nameof(chunks));
            if (!byDocument.TryGetValue(chunk.DocumentId, out var list))
            {
                byDocument[chunk.DocumentId] = list = [];
                order.Add(chunk.DocumentId);
            }

            list.Add(chunk);
        }

        var batch = new List<DocumentChunk>();
        foreach (var document in order)
        {
            var list = byDocument[document];
            if (batch.Count > 0 && batch.Count + list.Count > Options.BatchSize)
            {
                yield return batch;
                batch = [];
            }

            batch.AddRange(list);
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    private void Gate(Principal? principal)
    {
        if (principal is null && Options.RequireAccessControl)
        {
            throw new AccessDeniedException("This store requires access control: the search must name a principal.");
        }
    }

    // The WHERE conditions for a filter and a principal, each value a parameter appended to parameters.
    private static string Conditions(RetrievalFilter? filter, Principal? principal, List<NpgsqlParameter> parameters)
    {
        var where = new System.Text.StringBuilder();
        if (principal is not null)
        {
            parameters.Add(new() { Value = (string[])[principal.Id, .. principal.Groups], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            where.Append(CultureInfo.InvariantCulture, $" AND t.allowed_principals && ${parameters.Count}");
        }

        foreach (var condition in filter?.Conditions ?? [])
        {
            var accepted = condition.Values.Select(v => JsonSerializer.Serialize(new Dictionary<string, string> { [condition.Key] = v })).ToArray();
            parameters.Add(new() { Value = accepted, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            where.Append(CultureInfo.InvariantCulture, $" AND t.metadata @> ANY(${parameters.Count})");
        }

        return where.ToString();
    }

    private async Task<IReadOnlyList<RetrievedChunk>> QueryVectorAsync(NpgsqlConnection connection, Vector query, int topK, RetrievalFilter? filter, Principal? principal, string method, CancellationToken cancellationToken)
    {
        var parameters = new List<NpgsqlParameter> { new() { Value = query } };
        var where = Conditions(filter, principal, parameters);
        parameters.Add(new() { Value = topK, NpgsqlDbType = NpgsqlDbType.Integer });
        var sql = $"""
            SELECT {Columns}, t.embedding <=> $1 AS distance
            FROM {_schema.Table} t
            WHERE t.embedding IS NOT NULL{where}
            ORDER BY t.embedding <=> $1
            LIMIT ${parameters.Count}
            """;
        return await ReadResultsAsync(connection, sql, parameters, method, distance: true, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<RetrievedChunk>> ReadResultsAsync(NpgsqlConnection connection, string sql, List<NpgsqlParameter> parameters, string method, bool distance, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<(DocumentChunk Chunk, double Score)>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var value = reader.GetDouble(11);
            rows.Add((ReadChunk(reader, method), distance ? 1 - value : value));
        }

        // Relaxed-order iterative scans may return rows slightly out of order: sort here.
        return [.. rows
            .OrderByDescending(r => r.Score)
            .ThenBy(r => r.Chunk.Id, StringComparer.Ordinal)
            .Select((r, i) => new RetrievedChunk { Chunk = r.Chunk, Score = r.Score, Rank = i + 1 })];
    }

    private Task WriteBatchAsync(List<DocumentChunk> batch, IReadOnlyList<ReadOnlyMemory<float>>? vectors, CancellationToken cancellationToken)
    {
        var embeddings = new Vector?[batch.Count];
        for (var i = 0; i < batch.Count && vectors is not null; i++)
        {
            if (vectors[i].Length != Dimensions)
            {
                throw new PostgresRetrievalException(PostgresProblem.DimensionMismatch, $"Chunk '{batch[i].Id}' has a {vectors[i].Length}-dimensional embedding but the table '{_schema.TableName}' holds {Dimensions}-dimensional ones.");
            }

            embeddings[i] = new Vector(vectors[i]);
        }

        var documents = batch.Select(c => c.DocumentId).Distinct(StringComparer.Ordinal).ToArray();
        return RunAsync(async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
            await using (var delete = new NpgsqlCommand($"DELETE FROM {_schema.Table} WHERE document_id = ANY($1) AND NOT (chunk_id = ANY($2))", connection, transaction))
            {
                delete.Parameters.Add(new NpgsqlParameter { Value = documents, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                delete.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            // One statement per batch: every column travels as one array parameter. Access lists go as jsonb because
            // unnest flattens a text[][]; they are turned back into text[] here (null stays null: nobody may see it).
            var insert = $"""
                INSERT INTO {_schema.Table} (chunk_id, document_id, chunk_index, start_offset, end_offset, token_count, source, title, body, metadata, allowed_principals, search_text, embedding)
                SELECT id, doc, idx, so, eo, tc, src, ttl, body, meta,
                       CASE WHEN acl IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(acl)) END,
                       st, emb
                FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[], $5::integer[], $6::integer[], $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::jsonb[], $12::text[], $13::vector[])
                     AS u(id, doc, idx, so, eo, tc, src, ttl, body, meta, acl, st, emb)
                ON CONFLICT (chunk_id) DO UPDATE SET
                    document_id = EXCLUDED.document_id, chunk_index = EXCLUDED.chunk_index, start_offset = EXCLUDED.start_offset,
                    end_offset = EXCLUDED.end_offset, token_count = EXCLUDED.token_count, source = EXCLUDED.source, title = EXCLUDED.title,
                    body = EXCLUDED.body, metadata = EXCLUDED.metadata, allowed_principals = EXCLUDED.allowed_principals,
                    search_text = EXCLUDED.search_text, embedding = EXCLUDED.embedding
                """;
            await using (var command = new NpgsqlCommand(insert, connection, transaction))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.Id).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.DocumentId).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.Index).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.StartOffset).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.EndOffset).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.TokenCount).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.Source).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.Title).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.Text).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => Json(c.Metadata)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => c.AllowedPrincipals is null ? null : JsonSerializer.Serialize(c.AllowedPrincipals)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(c => DocumentIndex.KeywordTextOf(c, titles: true)).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = embeddings, DataTypeName = "vector[]" });
                await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    private async Task EnsureSchemaAsync(int dimensions, CancellationToken cancellationToken)
    {
        await RunAsync(async (connection, ct) =>
        {
            await EnsureExtensionAsync(connection, ct).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await ExecuteAsync(connection, $"CREATE SCHEMA IF NOT EXISTS {_schema.Schema}", ct).ConfigureAwait(false);
            await ExecuteAsync(connection, $"CREATE TABLE IF NOT EXISTS {_schema.Versions} (table_name text PRIMARY KEY, version integer NOT NULL, dimensions integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())", ct).ConfigureAwait(false);
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext($1))", connection))
            {
                // Two processes opening the same table at once: the second waits for the first's schema.
                lockCommand.Parameters.Add(new NpgsqlParameter { Value = $"llmadapt:{_schema.SchemaName}.{_schema.TableName}", NpgsqlDbType = NpgsqlDbType.Text });
                await lockCommand.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            int? version = null;
            await using (var read = new NpgsqlCommand($"SELECT version FROM {_schema.Versions} WHERE table_name = $1", connection))
            {
                read.Parameters.Add(new NpgsqlParameter { Value = _schema.TableName, NpgsqlDbType = NpgsqlDbType.Text });
                version = (int?)await read.ExecuteScalarAsync(ct).ConfigureAwait(false);
            }

            var existingDimensions = await VectorColumnLengthAsync(connection, ct).ConfigureAwait(false);
            if (version is null)
            {
                if (existingDimensions is not null || await TableExistsAsync(connection, ct).ConfigureAwait(false))
                {
                    throw new PostgresRetrievalException(PostgresProblem.SchemaVersion, $"The table {_schema.SchemaName}.{_schema.TableName} exists but was not created by LlmAdapt (no row in llmadapt_schema_versions): choose another Table or drop it.");
                }

                foreach (var statement in _schema.CreateStatements(dimensions, Options))
                {
                    await ExecuteAsync(connection, statement, ct).ConfigureAwait(false);
                }

                await using var insert = new NpgsqlCommand($"INSERT INTO {_schema.Versions} (table_name, version, dimensions) VALUES ($1, $2, $3)", connection);
                insert.Parameters.Add(new NpgsqlParameter { Value = _schema.TableName, NpgsqlDbType = NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter { Value = PostgresSchema.CurrentVersion, NpgsqlDbType = NpgsqlDbType.Integer });
                insert.Parameters.Add(new NpgsqlParameter { Value = dimensions, NpgsqlDbType = NpgsqlDbType.Integer });
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                existingDimensions = dimensions;
            }
            else if (version > PostgresSchema.CurrentVersion)
            {
                throw new PostgresRetrievalException(PostgresProblem.SchemaVersion, $"The table {_schema.SchemaName}.{_schema.TableName} has schema version {version}, newer than this library's {PostgresSchema.CurrentVersion}: upgrade LlmAdapt.PostgreSql.");
            }
            else if (existingDimensions != dimensions)
            {
                throw new PostgresRetrievalException(PostgresProblem.DimensionMismatch, $"The table {_schema.SchemaName}.{_schema.TableName} holds {existingDimensions}-dimensional embeddings but the embedding model gives {dimensions}: use the model the table was built with, or another Table.");
            }
            else if (Options.VectorIndex == PostgresVectorIndex.Hnsw)
            {
                await ExecuteAsync(connection, _schema.HnswStatement(Options), ct).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            Dimensions = existingDimensions!.Value;
            return 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureExtensionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var version = await ExtensionVersionAsync(connection, cancellationToken).ConfigureAwait(false);
        if (version is null)
        {
            try
            {
                await ExecuteAsync(connection, "CREATE EXTENSION IF NOT EXISTS vector", cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedFile or PostgresErrorCodes.FeatureNotSupported or PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.UndefinedObject)
            {
                throw new PostgresRetrievalException(PostgresProblem.MissingExtension, $"The pgvector extension is not available on the PostgreSQL server at {_endpoint} ({e.SqlState}: {e.MessageText}). Install pgvector 0.7 or later (for example the postgresql-NN-pgvector package, or the pgvector/pgvector image) and let a superuser run CREATE EXTENSION vector.", e);
            }

            version = await ExtensionVersionAsync(connection, cancellationToken).ConfigureAwait(false);

            // The vector type did not exist when this data source loaded its types.
            // Reload them, and retire the pooled connections that loaded the old list.
            await connection.ReloadTypesAsync(cancellationToken).ConfigureAwait(false);
            NpgsqlConnection.ClearPool(connection);
        }

        PgvectorVersion = version ?? "";
        _iterativeScan = System.Version.TryParse(PgvectorVersion, out var parsed) && parsed >= new System.Version(0, 8);
    }

    private static async Task<string?> ExtensionVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT extversion FROM pg_extension WHERE extname = 'vector'", connection);
        return (string?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<int?> VectorColumnLengthAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'embedding' AND NOT attisdropped", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = _schema.RegClass, NpgsqlDbType = NpgsqlDbType.Text });
        return (int?)await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> TableExistsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = _schema.RegClass, NpgsqlDbType = NpgsqlDbType.Text });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task RunAsync(Func<NpgsqlConnection, CancellationToken, Task> work, CancellationToken cancellationToken) =>
        RunAsync(async (connection, ct) =>
        {
            await work(connection, ct).ConfigureAwait(false);
            return 0;
        }, cancellationToken);

    // Opens a connection and runs work on it, retrying the whole unit on transient failures (every unit is idempotent:
    // a read, or a transaction that commits whole or not at all), then turns a lasting failure into a typed error.
    private async Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var attempts = 0;
        try
        {
            return await _retry.ExecuteAsync(
                async ct =>
                {
                    attempts++;
                    await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                    return await work(connection, ct).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (e.IsTransient && !cancellationToken.IsCancellationRequested)
        {
            throw new PostgresRetrievalException(PostgresProblem.Unreachable, $"PostgreSQL at {_endpoint} could not be reached after {attempts} attempts: {e.Message}", e);
        }
        catch (InvalidCastException e) when (e.Message.Contains("Vector", StringComparison.Ordinal))
        {
            throw new PostgresRetrievalException(PostgresProblem.Other, "The NpgsqlDataSource has no pgvector type mapping: build it with NpgsqlDataSourceBuilder.UseVector() (Pgvector package), or use PostgresDocumentStore.CreateDataSource.", e);
        }
    }
}
