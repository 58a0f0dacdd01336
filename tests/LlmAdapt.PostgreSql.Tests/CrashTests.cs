using LlmAdapt.Retrieval;
using LlmAdapt.Tests.Retrieval;

namespace LlmAdapt.PostgreSql.Tests;

public sealed class CrashTests
{
    [Fact]
    public async Task KillDuringBulkIngest_EveryDocumentWholeOrAbsent_AndIngestResumes()
    {
        // 200 documents of 3 chunks (Cranfield's first 200 texts, cut in three), batches of 10 documents; the server
        // process is killed (SIGKILL, no shutdown) once 40 documents are reported written.
        var dataset = await StoreTests.CranfieldSampleAsync(200);
        var chunks = dataset.SelectMany(c => Enumerable.Range(0, 3).Select(i => c with
        {
            Id = $"{c.DocumentId}#{i}",
            Index = i,
            Text = c.Text[(c.Text.Length * i / 3)..(c.Text.Length * (i + 1) / 3)],
        })).ToList();
        var generator = new HashingEmbeddingGenerator(32);
        var options = new PostgresRetrievalOptions { Table = "crash", BatchSize = 30, MaxRetryAttempts = 0 };
        await using var server = await PgliteServer.StartAsync();
        var written = 0;
        var killed = 0;
        await using (var store = await PostgresDocumentStore.OpenAsync(server.ConnectionString, options, generator))
        {
            var progress = new SynchronousProgress(n =>
            {
                written = n;
                if (n >= 120 && Interlocked.Exchange(ref killed, 1) == 0)
                {
                    // From another thread, so the kill lands while the next batch is being sent or committed.
                    _ = Task.Run(server.Kill);
                }
            });
            var error = await Assert.ThrowsAsync<PostgresRetrievalException>(() => store.AddAsync(chunks, generator, progress));
            Assert.Equal(PostgresProblem.Unreachable, error.Problem);
        }

        Assert.Equal(1, killed);
        await server.RestartAsync();
        await using (var store = await PostgresDocumentStore.OpenAsync(server.ConnectionString, options, generator))
        {
            var counts = await store.CountChunksByDocumentAsync();
            Assert.All(counts, c => Assert.Equal(3, c.Value));
            Assert.True(counts.Count * 3 >= written, $"{counts.Count} documents survived but {written} chunks were reported committed");
            Assert.True(counts.Count < 200, "the kill came too late to interrupt the ingest");

            // Resuming is running the same ingest again: upserts by chunk id.
            await store.AddAsync(chunks, generator);
            counts = await store.CountChunksByDocumentAsync();
            Assert.Equal(200, counts.Count);
            Assert.All(counts, c => Assert.Equal(3, c.Value));
            Assert.Contains(chunks[5].Id, (await store.SearchKeywordAsync(chunks[5].Text, 3)).Select(r => r.Chunk.Id));
        }
    }

    private sealed class SynchronousProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
