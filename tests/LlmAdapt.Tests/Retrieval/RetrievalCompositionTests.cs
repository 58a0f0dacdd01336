using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Persistence;
using LlmAdapt.Retrieval.Retrievers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Tests.Retrieval;

public sealed class RetrievalCompositionTests
{
    [Fact]
    public async Task AddRetrieval_LoadsTheIndexFileAndComposesHybridWhenEmbeddingsAreRegistered()
    {
        var path = Path.Combine(Path.GetTempPath(), $"llmadapt-di-{Guid.NewGuid():N}.llmidx");
        var generator = new HashingEmbeddingGenerator();
        using (var index = new DocumentIndex())
        {
            var chunk = new DocumentChunk { Id = "a", DocumentId = "a", Text = "wing flutter", AllowedPrincipals = ["eng"] };
            index.Upsert(chunk, (await generator.GenerateAsync([chunk.Text]))[0].Vector.Span);
            await DocumentIndexFile.SaveAsync(index, path);
        }

        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["LlmAdapt:Retrieval:IndexPath"] = path,
                ["LlmAdapt:Retrieval:RequireAccessControl"] = "true",
            }).Build();
            var services = new ServiceCollection();
            services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(generator);
            services.AddLlmAdapt(configuration.GetSection("LlmAdapt"), llm => llm.AddRetrieval());
            using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

            var retriever = provider.GetRequiredService<IRetriever>();
            Assert.IsType<HybridRetriever>(retriever);
            var results = await retriever.RetrieveAsync(new RetrievalRequest { Query = "flutter", Principal = new Principal("ann", "eng") });
            Assert.Equal("a", results[0].Chunk.Id);
            await Assert.ThrowsAsync<AccessDeniedException>(() => retriever.RetrieveAsync(new RetrievalRequest { Query = "flutter" }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AddRetrieval_UnknownRetrieverName_FailsValidation()
    {
        var services = new ServiceCollection();
        services.AddLlmAdapt(llm => llm.AddRetrieval(o => o.Retriever = "fancy"));
        using var provider = services.BuildServiceProvider();
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RetrievalOptions>>().Value);
    }

    [Fact]
    public void AddRetrieval_IndexPathNamingNoFile_FailsNamingThePath_InsteadOfAnEmptyIndex()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"llmadapt-missing-{Guid.NewGuid():N}.llmidx");
        var services = new ServiceCollection();
        services.AddLlmAdapt(llm => llm.AddRetrieval(o => o.IndexPath = missing));
        using var provider = services.BuildServiceProvider();

        var atStartUp = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RetrievalOptions>>().Value);
        Assert.Contains(missing, atStartUp.Message, StringComparison.Ordinal);
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<DocumentIndex>());
    }
}
