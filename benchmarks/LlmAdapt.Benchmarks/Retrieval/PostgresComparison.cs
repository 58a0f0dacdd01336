using System.Diagnostics;
using LlmAdapt.PostgreSql;
using LlmAdapt.PostgreSql.Tests;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;

namespace LlmAdapt.Benchmarks.Retrieval;

/// <summary>
/// `compare postgres`: pgvector's HNSW in PostgreSQL against LlmAdapt's in-process HNSW on the same 50,000 cached
/// MiniLM embeddings (<see cref="HnswComparison"/>'s), with the same M and efConstruction: bulk-ingest chunks/s, index
/// build time, recall@10 against exact search and queries/s, in one run. The server is the one the tests use —
/// PGlite (PostgreSQL compiled to WebAssembly, 32-bit, one backend, one connection) — unless
/// <c>LLMADAPT_POSTGRES</c> names a real server; PGlite is much slower than a native PostgreSQL and the PostgreSQL
/// side also pays a round trip per query, so read its numbers as a floor.
/// </summary>
internal static class PostgresComparison
{
    private const int M = 16;
    private const int EfConstruction = 64;
    private const int QueryCount = 200;
    private const int BatchSize = 1000;

    public static async Task<int> RunAsync(string[] args)
    {
        var vectors = await HnswComparison.LoadEmbeddingsAsync().ConfigureAwait(false);
        var dims = vectors[0].Length;
        var corpus = Math.Min(50_000, vectors.Length - 1000);
        var queries = vectors[^QueryCount..];
        var chunks = Enumerable.Range(0, corpus).Select(i => new DocumentChunk { Id = $"v{i}", DocumentId = $"v{i}", Text = "-" }).ToList();
        Console.WriteLine($"compare postgres: {corpus} vectors x {dims} (MiniLM, cached), {QueryCount} queries, HNSW M={M} efConstruction={EfConstruction}, {Environment.ProcessorCount} cores");

        // Exact neighbours (the in-process flat index) are the ground truth for both sides.
        using var flat = new FlatVectorIndex(dims);
        for (var i = 0; i < corpus; i++)
        {
            flat.Upsert(i, vectors[i]);
        }

        var exact = queries.Select(q => flat.Search(q, 10).Select(r => $"v{r.Key}").ToHashSet()).ToArray();

        // In process.
        using var hnsw = new HnswVectorIndex(dims, new HnswOptions { M = M, EfConstruction = EfConstruction });
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < corpus; i++)
        {
            hnsw.Upsert(i, vectors[i]);
        }

        var inProcessBuild = watch.Elapsed.TotalSeconds;
        var inProcess = new List<(int Ef, double Recall, double Qps)>();
        foreach (var ef in new[] { 40, 64, 100 })
        {
            hnsw.EfSearch = ef;
            var hits = 0;
            watch.Restart();
            for (var q = 0; q < queries.Length; q++)
            {
                hits += hnsw.Search(queries[q], 10).Count(r => exact[q].Contains($"v{r.Key}"));
            }

            inProcess.Add((ef, hits / (10.0 * queries.Length), queries.Length / watch.Elapsed.TotalSeconds));
        }

        // PostgreSQL: bulk load without the index, then build it, as pgvector advises.
        var connection = Environment.GetEnvironmentVariable("LLMADAPT_POSTGRES");
        await using var server = connection is null ? await PgliteServer.StartAsync().ConfigureAwait(false) : null;
        var serverName = server is null ? "the server in LLMADAPT_POSTGRES" : "PGlite 0.5.14 (PostgreSQL 18.6 in WebAssembly, one connection)";
        // The bulk load and the index build run longer than the tests' command timeout.
        connection ??= server!.ConnectionString + ";Command Timeout=3600";
        var table = "bench_" + Guid.NewGuid().ToString("N")[..8];
        var options = new PostgresRetrievalOptions { Table = table, Dimensions = dims, VectorIndex = PostgresVectorIndex.None, BatchSize = BatchSize, HnswM = M, HnswEfConstruction = EfConstruction };
        double ingestSeconds, indexSeconds;
        await using (var loader = await PostgresDocumentStore.OpenAsync(connection, options).ConfigureAwait(false))
        {
            watch.Restart();
            await loader.UpsertAsync(chunks, [.. vectors.Take(corpus).Select(v => new ReadOnlyMemory<float>(v))]).ConfigureAwait(false);
            ingestSeconds = watch.Elapsed.TotalSeconds;
            Console.WriteLine(FormattableString.Invariant($"postgres: {corpus} chunks written in {ingestSeconds:F1} s; building the HNSW index"));
            watch.Restart();
            await loader.CreateVectorIndexAsync("1GB").ConfigureAwait(false);
            indexSeconds = watch.Elapsed.TotalSeconds;
        }

        var postgres = new List<(int Ef, double Recall, double Qps)>();
        string version = "";
        foreach (var ef in new[] { 40, 64, 100 })
        {
            await using var store = await PostgresDocumentStore.OpenAsync(connection, new PostgresRetrievalOptions { Table = table, Dimensions = dims, HnswM = M, HnswEfConstruction = EfConstruction, HnswEfSearch = ef }).ConfigureAwait(false);
            version = store.PgvectorVersion;
            var hits = 0;
            watch.Restart();
            for (var q = 0; q < queries.Length; q++)
            {
                hits += (await store.SearchVectorAsync(queries[q], 10).ConfigureAwait(false)).Count(r => exact[q].Contains(r.Chunk.Id));
            }

            postgres.Add((ef, hits / (10.0 * queries.Length), queries.Length / watch.Elapsed.TotalSeconds));
        }

        Console.WriteLine(FormattableString.Invariant($"in-process hnsw: build {inProcessBuild:F1} s ({corpus / inProcessBuild:F0} chunks/s, embeddings given)"));
        foreach (var (ef, recall, qps) in inProcess)
        {
            Console.WriteLine(FormattableString.Invariant($"  efSearch={ef}: recall@10 {recall:F4}, {qps:F0} q/s"));
        }

        Console.WriteLine(FormattableString.Invariant($"pgvector {version} hnsw on {serverName}: bulk ingest {ingestSeconds:F1} s ({corpus / ingestSeconds:F0} chunks/s, {BatchSize} per INSERT … unnest statement), index build {indexSeconds:F1} s"));
        foreach (var (ef, recall, qps) in postgres)
        {
            Console.WriteLine(FormattableString.Invariant($"  hnsw.ef_search={ef}: recall@10 {recall:F4}, {qps:F0} q/s"));
        }

        var pick = postgres.FirstOrDefault(p => p.Recall >= 0.95, postgres[^1]);
        var match = inProcess.First(p => p.Ef == pick.Ef);
        Console.WriteLine(FormattableString.Invariant(
            $"pg_recall10={pick.Recall:F3} (ef={pick.Ef}) qps_ratio_inprocess_vs_pg={match.Qps / pick.Qps:F1} ingest_ratio_inprocess_vs_pg={(corpus / inProcessBuild) / (corpus / (ingestSeconds + indexSeconds)):F1} (PGlite is WebAssembly with one connection: slower than a native server)"));
        return 0;
    }
}
