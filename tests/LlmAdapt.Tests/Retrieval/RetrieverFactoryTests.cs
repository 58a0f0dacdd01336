using LlmAdapt.Retrieval.Composition;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Retrievers;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Retrieval;

public sealed class RetrieverFactoryTests
{
    [Theory]
    [InlineData("keyword", typeof(KeywordRetriever))]
    [InlineData("BM25", typeof(KeywordRetriever))]
    [InlineData("dense", typeof(DenseRetriever))]
    [InlineData("hybrid", typeof(HybridRetriever))]
    public void Create_ByName_GivesThatRetriever(string name, Type expected)
    {
        using var index = new DocumentIndex();
        Assert.IsType(expected, RetrieverFactory.Create(index, name, new HashingEmbeddingGenerator()));
    }

    [Fact]
    public void Create_WithoutName_IsHybridWithAModelAndKeywordWithout()
    {
        using var index = new DocumentIndex();
        Assert.IsType<HybridRetriever>(RetrieverFactory.Create(index, null, new HashingEmbeddingGenerator()));
        Assert.IsType<KeywordRetriever>(RetrieverFactory.Create(index, null, null));
    }

    [Fact]
    public void UnknownName_IsRefusedListingTheValidOnes()
    {
        using var index = new DocumentIndex();
        var ex = Assert.Throws<ArgumentException>(() => RetrieverFactory.Create(index, "fancy", null));
        Assert.Contains("keyword, dense, hybrid", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => RetrieverFactory.Create(index, "dense", null));
    }

    [Fact]
    public void IndexEmbeddedWithAnotherModel_IsRefusedNamingBoth()
    {
        using var index = new DocumentIndex(new DocumentIndexOptions { EmbeddingModelId = "model/a" });
        var generator = new Named(new HashingEmbeddingGenerator(), "model/b");

        var ex = Assert.Throws<LlmAdaptException>(() => RetrieverFactory.Create(index, "hybrid", generator));
        Assert.Contains("model/a", ex.Message, StringComparison.Ordinal);
        Assert.Contains("model/b", ex.Message, StringComparison.Ordinal);
        Assert.IsType<KeywordRetriever>(RetrieverFactory.Create(index, "keyword", generator));
        using var same = new DocumentIndex(new DocumentIndexOptions { EmbeddingModelId = "model/b" });
        Assert.IsType<DenseRetriever>(RetrieverFactory.Create(same, "dense", generator));
    }

    private sealed class Named(IEmbeddingGenerator<string, Embedding<float>> inner, string modelId) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        public override object? GetService(Type serviceType, object? serviceKey = null)
            => serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("test", null, modelId) : base.GetService(serviceType, serviceKey);
    }
}
