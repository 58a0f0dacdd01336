using LlmAdapt.Onnx.Embeddings;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Onnx.Tests.Embeddings;

public sealed class OnnxEmbeddingsServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddOnnxEmbeddings_RegistersOneGeneratorForTheInterface()
    {
        var services = new ServiceCollection();
        services.AddLlmAdapt(b => b.AddOnnxEmbeddings(o => o.MaxBatchSize = 8));
        using var provider = services.BuildServiceProvider();

        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        Assert.Same(generator, provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Same(generator, provider.GetRequiredService<OnnxEmbeddingGenerator>());
        var result = await generator.GenerateAsync([EmbeddingTestData.CheckSentence]);
        Assert.Equal(-0.01079, result[0].Vector.Span[0], 1e-4);
    }

    [Fact]
    public void AddOnnxEmbeddings_BindsTheEmbeddingsSectionThenAppliesCode()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmAdapt:Embeddings:MaxBatchSize"] = "4",
            ["LlmAdapt:Embeddings:MaxSequenceLength"] = "128",
            ["LlmAdapt:Embeddings:Precision"] = "Float32",
        }).Build();
        var services = new ServiceCollection();
        services.AddLlmAdapt(configuration, b => b.AddOnnxEmbeddings(o => o.MaxBatchTokens = 1024));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<OnnxEmbeddingOptions>>().Value;
        Assert.Equal(4, options.MaxBatchSize);
        Assert.Equal(1024, options.MaxBatchTokens);
        Assert.Equal(128, provider.GetRequiredService<OnnxEmbeddingGenerator>().MaxSequenceLength);
    }

    [Fact]
    public void AddOnnxEmbeddings_InvalidOptions_FailValidation()
    {
        var services = new ServiceCollection();
        services.AddLlmAdapt(b => b.AddOnnxEmbeddings(o =>
        {
            o.MaxBatchTokens = 1;
            o.ModelDirectory = "/no/such/model/folder";
        }));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<OnnxEmbeddingOptions>>().Value);
        Assert.Contains(ex.Failures, f => f.Contains("MaxBatchTokens", StringComparison.Ordinal));
    }
}
