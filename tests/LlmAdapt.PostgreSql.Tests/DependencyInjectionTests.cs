using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Retrievers;
using LlmAdapt.Tests.Retrieval;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmAdapt.PostgreSql.Tests;

[Collection(PgliteCollection.Name)]
public sealed class DependencyInjectionTests(PgliteFixture fixture)
{
    [Fact]
    public async Task AddPostgresRetrieval_Twice_RegistersOnceAndServesAHybridRetriever()
    {
        var table = fixture.NewTable("di");
        var generator = new HashingEmbeddingGenerator(16);
        var services = new ServiceCollection();
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(generator);
        services.AddLlmAdapt(llm => llm
            .AddPostgresRetrieval(o => { o.ConnectionString = fixture.Server.ConnectionString; o.Table = table; o.RequireAccessControl = true; })
            .AddPostgresRetrieval());
        Assert.Equal(1, services.Count(d => d.ServiceType == typeof(PostgresDocumentStore)));
        Assert.Equal(1, services.Count(d => d.ServiceType == typeof(IRetriever)));
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var store = provider.GetRequiredService<PostgresDocumentStore>();
        await store.AddAsync([new DocumentChunk { Id = "a#0", DocumentId = "a", Text = "wing flutter at high speed", AllowedPrincipals = ["eng"] }], generator);
        var retriever = provider.GetRequiredService<IRetriever>();
        Assert.IsType<HybridRetriever>(retriever);
        var results = await retriever.RetrieveAsync(new RetrievalRequest { Query = "flutter", Principal = new Principal("ann", "eng") });
        Assert.Equal("a#0", results[0].Chunk.Id);
        Assert.Empty(await retriever.RetrieveAsync(new RetrievalRequest { Query = "flutter", Principal = new Principal("bob", "sales") }));
        await Assert.ThrowsAsync<AccessDeniedException>(() => retriever.RetrieveAsync(new RetrievalRequest { Query = "flutter" }));
    }

    [Fact]
    public async Task AddPostgresRetrieval_HostileTableName_FailsAtStart()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLlmAdapt(llm => llm.AddPostgresRetrieval(o => { o.ConnectionString = fixture.Server.ConnectionString; o.Table = "x; DROP TABLE y"; o.HnswM = 40; }));
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(error.Failures, f => f.Contains("Table", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("HnswEfConstruction", StringComparison.Ordinal));
    }
}
