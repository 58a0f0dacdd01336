using System.Linq.Expressions;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Retrievers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace LlmAdapt.Tests.Retrieval;

public sealed class VectorStoreRetrieverTests
{
    [Fact]
    public async Task Retrieve_OverAVectorDataCollection_RanksFiltersAndGuards()
    {
        var generator = new HashingEmbeddingGenerator(128);
        var collection = new ListCollection();
        var texts = new[] { ("a", "wing flutter at high speed", "eng"), ("b", "wing flutter analysis", "hr"), ("c", "nozzle plume", "eng") };
        foreach (var (id, text, group) in texts)
        {
            await collection.UpsertAsync(new Note(id, text, group, (await generator.GenerateAsync([text]))[0].Vector.ToArray()));
        }

        static DocumentChunk ToChunk(Note n) => new() { Id = n.Id, DocumentId = n.Id, Text = n.Text, AllowedPrincipals = [n.Group], Metadata = new Dictionary<string, string> { ["group"] = n.Group } };
        var retriever = new VectorStoreRetriever<string, Note>(collection, generator, ToChunk, new VectorStoreRetrieverOptions<Note>
        {
            Access = new RetrieverOptions { RequireAccessControl = true },

            // A deliberately useless store filter: the retriever's own check must still hold.
            StoreFilter = _ => n => true,
        });

        var results = await retriever.RetrieveAsync(new RetrievalRequest { Query = "wing flutter", TopK = 2, Principal = new Principal("ann", "eng") });
        Assert.Equal(["a", "c"], results.Select(r => r.Chunk.Id));
        Assert.True(results[0].Score > results[1].Score);
        await Assert.ThrowsAsync<AccessDeniedException>(() => retriever.RetrieveAsync(new RetrievalRequest { Query = "wing" }));
    }

    public sealed record Note(string Id, string Text, string Group, float[] Vector);

    private sealed class ListCollection : VectorStoreCollection<string, Note>
    {
        private readonly Dictionary<string, Note> _records = [];

        public override string Name => "notes";

        public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);

        public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default)
        {
            _records.Clear();
            return Task.CompletedTask;
        }

        public override Task<Note?> GetAsync(string key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default) => Task.FromResult(_records.GetValueOrDefault(key));

        public override async IAsyncEnumerable<Note> GetAsync(Expression<Func<Note, bool>> filter, int top, FilteredRecordRetrievalOptions<Note>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            foreach (var note in _records.Values.Where(filter.Compile()).Take(top))
            {
                yield return note;
            }
        }

        public override Task DeleteAsync(string key, CancellationToken cancellationToken = default)
        {
            _records.Remove(key);
            return Task.CompletedTask;
        }

        public override Task UpsertAsync(Note record, CancellationToken cancellationToken = default)
        {
            _records[record.Id] = record;
            return Task.CompletedTask;
        }

        public override Task UpsertAsync(IEnumerable<Note> records, CancellationToken cancellationToken = default)
        {
            foreach (var record in records)
            {
                _records[record.Id] = record;
            }

            return Task.CompletedTask;
        }

        public override async IAsyncEnumerable<VectorSearchResult<Note>> SearchAsync<TInput>(TInput searchValue, int top, VectorSearchOptions<Note>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            var query = searchValue switch
            {
                ReadOnlyMemory<float> memory => memory.ToArray(),
                float[] array => array,
                _ => throw new NotSupportedException($"search value {typeof(TInput)}"),
            };
            var predicate = options?.Filter?.Compile() ?? (_ => true);
            foreach (var note in _records.Values.Where(predicate).OrderByDescending(n => TensorPrimitives.CosineSimilarity(n.Vector, query)).Take(top))
            {
                yield return new VectorSearchResult<Note>(note, TensorPrimitives.CosineSimilarity(note.Vector, query));
            }
        }

        public override object? GetService(Type serviceType, object? serviceKey = null) => null;
    }
}
