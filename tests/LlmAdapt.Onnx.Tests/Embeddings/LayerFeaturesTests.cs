using System.ComponentModel.DataAnnotations;
using System.Numerics.Tensors;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Onnx.Graph;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Onnx.Tests.Embeddings;

/// <summary>Features from several encoder layers (PooledLayers) and mean + max pooling, on the real all-MiniLM-L6-v2.</summary>
public sealed class LayerFeaturesTests(ModelFolderFixture folder) : IClassFixture<ModelFolderFixture>
{
    private const int Hidden = 384;

    // The first 12 SST-2 dev phrases (dev.tsv order), as used across the embedding tests.
    private static readonly string[] s_texts = [.. EmbeddingTestData.Sst2Sentences("dev").Take(12)];

    [Fact]
    public void GraphWalk_FindsTheEmbeddingOutputAndSixLayers_EndingAtTheModelsOutput()
    {
        var model = OnnxModels.Parse("minilm", folder.ModelBytes);

        var states = EncoderLayerOutputs.Find(model, "minilm", "last_hidden_state");

        // all-MiniLM-L6-v2: the embedding layer's output and 6 encoder layers.
        Assert.Equal(7, states.Count);
        Assert.Equal("last_hidden_state", states[^1]);
        Assert.Equal(states.Count, states.Distinct().Count());
    }

    [Fact]
    public async Task SixLayers_LastPartIsTheSentenceEmbedding_AndEachPartIsUnitLength()
    {
        using var plain = OnnxEmbeddingGenerator.CreateDefault();
        using var layers = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { PooledLayers = 6 });

        var a = await plain.GenerateAsync(s_texts);
        var b = await layers.GenerateAsync(s_texts);

        Assert.Equal(6 * Hidden, layers.Dimensions);
        Assert.Equal(6 * Hidden, layers.Metadata.DefaultModelDimensions);
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2#layers=6;pooling=mean;normalize=true", layers.ModelId);
        Assert.Equal(layers.ModelId, layers.Metadata.DefaultModelId);
        Assert.Equal(layers.ModelId, b[0].ModelId);
        for (var i = 0; i < s_texts.Length; i++)
        {
            var vector = b[i].Vector.Span;
            Assert.Equal(6 * Hidden, vector.Length);

            // The last layer's part is exactly the model's own sentence embedding: the layers come oldest first.
            Assert.True(vector[(5 * Hidden)..].SequenceEqual(a[i].Vector.Span), $"text {i}: last part differs from the sentence embedding");
            for (var l = 0; l < 6; l++)
            {
                Assert.Equal(1.0, TensorPrimitives.Norm(vector.Slice(l * Hidden, Hidden)), 1e-5);
            }

            // Lower layers hold different features (so the walk did not pick one tensor six times).
            Assert.True(EmbeddingTestData.Cosine(vector[..Hidden], vector[(5 * Hidden)..]) < 0.9);
            Assert.True(EmbeddingTestData.Cosine(vector.Slice(4 * Hidden, Hidden), vector[(5 * Hidden)..]) < 0.999);
        }
    }

    [Fact]
    public async Task MeanMax_WithoutNormalisation_PutsTheMeanThenAMaximumAtLeastAsLarge()
    {
        using var plain = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Normalize = false });
        using var meanMax = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Pooling = EmbeddingPooling.MeanMax, Normalize = false });

        var a = await plain.GenerateAsync(s_texts);
        var b = await meanMax.GenerateAsync(s_texts);

        Assert.Equal(2 * Hidden, meanMax.Dimensions);
        Assert.Equal("sentence-transformers/all-MiniLM-L6-v2#layers=1;pooling=mean-max;normalize=false", meanMax.Metadata.DefaultModelId);
        for (var i = 0; i < s_texts.Length; i++)
        {
            var vector = b[i].Vector.Span;
            Assert.True(vector[..Hidden].SequenceEqual(a[i].Vector.Span), $"text {i}: mean part differs");
            for (var k = 0; k < Hidden; k++)
            {
                Assert.True(vector[Hidden + k] >= vector[k] - 1e-5f, $"text {i}, component {k}: max {vector[Hidden + k]} < mean {vector[k]}");
            }

            // More than one token, so the maximum is above the mean somewhere.
            Assert.True(TensorPrimitives.Distance(vector[..Hidden], vector[Hidden..]) > 0.1f);
        }
    }

    [Fact]
    public async Task ModelFolder_GivesTheSameLayerFeaturesAsTheBuiltInModel()
    {
        using var fromFolder = OnnxEmbeddingGenerator.Create(folder.VocabFolder, new OnnxEmbeddingOptions { PooledLayers = 2, Pooling = EmbeddingPooling.MeanMax, ModelId = "minilm" });
        using var builtIn = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { PooledLayers = 2, Pooling = EmbeddingPooling.MeanMax });

        var a = await fromFolder.GenerateAsync(s_texts.Take(4));
        var b = await builtIn.GenerateAsync(s_texts.Take(4));

        Assert.Equal("minilm#layers=2;pooling=mean-max;normalize=true", fromFolder.ModelId);
        Assert.Equal(4 * Hidden, fromFolder.Dimensions);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(EmbeddingTestData.Cosine(a[i].Vector.Span, b[i].Vector.Span) > 0.99999);
        }
    }

    [Fact]
    public async Task Int8_WithTwoLayers_StaysCloseToFloat32_AndIsCachedApart()
    {
        var cache = Directory.CreateTempSubdirectory("llmadapt-int8-layers-").FullName;
        try
        {
            using var int8 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { PooledLayers = 2, Precision = EmbeddingPrecision.Int8, CacheDirectory = cache });
            using var fp32 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { PooledLayers = 2 });

            var a = await int8.GenerateAsync(s_texts);
            var b = await fp32.GenerateAsync(s_texts);

            Assert.Equal(2 * Hidden, int8.Dimensions);
            Assert.Equal(fp32.ModelId, int8.ModelId);
            for (var i = 0; i < s_texts.Length; i++)
            {
                for (var l = 0; l < 2; l++)
                {
                    var cosine = EmbeddingTestData.Cosine(a[i].Vector.Span.Slice(l * Hidden, Hidden), b[i].Vector.Span.Slice(l * Hidden, Hidden));
                    Assert.True(cosine > 0.99, $"text {i}, layer part {l}: cosine {cosine:F4}");
                }
            }

            Assert.Single(Directory.GetFiles(cache, "*layers2*.int8-v*.onnx"));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public void MoreLayersThanTheEncoderHas_IsRefusedWithBothNumbers()
    {
        var ex = Assert.Throws<ModelLoadException>(() => OnnxEmbeddingGenerator.Create(folder.VocabFolder, new OnnxEmbeddingOptions { PooledLayers = 7 }));

        Assert.Contains("7 layers", ex.Message, StringComparison.Ordinal);
        Assert.Contains("has 6", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelId_ReadsBackIntoOptions_ThatRebuildTheSameFeatures()
    {
        using var trained = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { PooledLayers = 3, Pooling = EmbeddingPooling.MeanMax, Normalize = false });
        var options = new OnnxEmbeddingOptions();

        Assert.True(options.TryApplyFeaturesOf(trained.ModelId));
        Assert.Equal((3, EmbeddingPooling.MeanMax, false), (options.PooledLayers, options.Pooling, options.Normalize));
        using var again = OnnxEmbeddingGenerator.CreateDefault(options);
        Assert.Equal(trained.ModelId, again.ModelId);

        var plain = new OnnxEmbeddingOptions();
        Assert.False(plain.TryApplyFeaturesOf("sentence-transformers/all-MiniLM-L6-v2"));
        Assert.Equal((1, null, null), (plain.PooledLayers, plain.Pooling, plain.Normalize));
        Assert.Equal(EmbeddingPooling.MeanMax, OnnxEmbeddingOptions.ParsePooling("mean-max"));
        Assert.Throws<ArgumentException>(() => OnnxEmbeddingOptions.ParsePooling("max"));
    }

    [Fact]
    public void PooledLayersOutOfRange_IsAValidationError()
    {
        var ex = Assert.Throws<InvalidOptionsException>(() => OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { PooledLayers = 0 }));

        Assert.Contains(nameof(OnnxEmbeddingOptions.PooledLayers), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configuration_BindsPooledLayersAndPooling_AndRefusesZeroLayersAtStartUp()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmAdapt:Embeddings:PooledLayers"] = "2",
            ["LlmAdapt:Embeddings:Pooling"] = "MeanMax",
            ["LlmAdapt:Embeddings:Normalize"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddLlmAdapt(configuration, b => b.AddOnnxEmbeddings());
        using (var provider = services.BuildServiceProvider())
        {
            var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
            Assert.Equal(2 * 2 * Hidden, generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelDimensions);
            Assert.Equal("sentence-transformers/all-MiniLM-L6-v2#layers=2;pooling=mean-max;normalize=false", generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId);
        }

        var invalid = new ServiceCollection();
        invalid.AddLlmAdapt(b => b.AddOnnxEmbeddings(o => o.PooledLayers = 0));
        using var bad = invalid.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<OnnxEmbeddingOptions>>().Value);
        Assert.Contains(ex.Failures, f => f.Contains(nameof(OnnxEmbeddingOptions.PooledLayers), StringComparison.Ordinal));
    }

    [Fact]
    public async Task AskingForThePlainDimension_FromALayerGenerator_IsRefused()
    {
        using var layers = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { PooledLayers = 2 });

        await Assert.ThrowsAsync<ArgumentException>(() => layers.GenerateAsync(["a film"], new EmbeddingGenerationOptions { Dimensions = Hidden }));
    }
}
