using LlmAdapt.Retrieval;

namespace LlmAdapt.Tests.Retrieval;

/// <summary>
/// The randomized access-control check every retrieval back end runs: random users in random groups, chunks with
/// random access lists (some empty, some missing), random two-word queries; no result may be hidden from its user,
/// and the dense retriever must return k results whenever k visible chunks exist.
/// </summary>
internal sealed class AccessControlScenario
{
    public static readonly string[] Words = ["wing", "flutter", "shock", "boundary", "layer", "heat", "panel", "nozzle", "vortex", "drag", "lift", "stall"];

    private AccessControlScenario(Random random, Principal[] users, List<DocumentChunk> chunks)
    {
        Random = random;
        Users = users;
        Chunks = chunks;
    }

    public Random Random { get; }

    public Principal[] Users { get; }

    public List<DocumentChunk> Chunks { get; }

    public static AccessControlScenario Create(int seed, int chunkCount, int userCount)
    {
        var random = new Random(seed);
        var groups = Enumerable.Range(0, 8).Select(g => $"group-{g}").ToArray();
        var users = Enumerable.Range(0, userCount).Select(u => new Principal($"user-{u}", groups.Where(_ => random.NextDouble() < 0.25))).ToArray();
        var chunks = new List<DocumentChunk>(chunkCount);
        for (var i = 0; i < chunkCount; i++)
        {
            var text = string.Join(' ', Enumerable.Range(0, 8).Select(_ => Words[random.Next(Words.Length)]));
            IReadOnlyList<string>? allowed = random.NextDouble() switch
            {
                < 0.05 => null,
                < 0.10 => [],
                _ => [.. users.Where(_ => random.NextDouble() < 0.05).Select(u => u.Id).Concat(groups.Where(_ => random.NextDouble() < 0.15))],
            };
            chunks.Add(new DocumentChunk { Id = $"c{i}", DocumentId = $"d{i / 4}", Text = text, AllowedPrincipals = allowed });
        }

        return new AccessControlScenario(random, users, chunks);
    }

    /// <summary>Runs <paramref name="queries"/> random queries through each retriever and returns how many results came back.</summary>
    public async Task<int> CheckAsync(IRetriever keyword, IRetriever dense, IRetriever hybrid, int queries, int topK = 20)
    {
        var returned = 0;
        for (var q = 0; q < queries; q++)
        {
            var user = Users[Random.Next(Users.Length)];
            var query = $"{Words[Random.Next(Words.Length)]} {Words[Random.Next(Words.Length)]}";
            var visible = Chunks.Where(c => user.CanSee(c.AllowedPrincipals)).Select(c => c.Id).ToHashSet();
            foreach (var retriever in new[] { keyword, dense, hybrid })
            {
                var results = await retriever.RetrieveAsync(new RetrievalRequest { Query = query, TopK = topK, Principal = user });
                Assert.All(results, r => Assert.Contains(r.Chunk.Id, visible));
                returned += results.Count;

                // Filtering happens before ranking: a principal who can see k chunks gets k.
                if (retriever == dense)
                {
                    Assert.Equal(Math.Min(topK, visible.Count), results.Count);
                }
            }
        }

        return returned;
    }
}
