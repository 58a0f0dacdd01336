using LlmAdapt.DependencyInjection;
using LlmAdapt.Retrieval.Chunking;
using LlmAdapt.Retrieval.Indexes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Tests.Validation;

public sealed class OptionsValidatorTests
{
    [Fact]
    public void ThrowIfInvalid_ListsEveryAttributeProblem_AndTheCrossFieldRuleToo()
    {
        // MaxTokens = 0 breaks its [Range]; OverlapTokens = 5 >= 0 breaks the cross-field rule, which DataAnnotations'
        // own Validator would skip once an attribute failed.
        var ex = Assert.Throws<InvalidOptionsException>(() => OptionsValidator.ThrowIfInvalid(new ChunkerOptions { MaxTokens = 0, OverlapTokens = 5 }));

        Assert.Equal(nameof(ChunkerOptions), ex.OptionsName);
        Assert.Equal(2, ex.Problems.Count);
        Assert.Contains(ex.Problems, p => p.Contains("MaxTokens", StringComparison.Ordinal) && p.Contains("1000000", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.Contains("OverlapTokens (5) must be less than MaxTokens (0)", StringComparison.Ordinal));
        Assert.All(ex.Problems, p => Assert.Contains(p, ex.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void NestedOptions_AreValidatedWithTheirParent_NamingThePath()
    {
        var options = new DocumentIndexOptions { Bm25 = new Bm25Options { K1 = -1 }, Hnsw = new HnswOptions { M = 0 } };

        var ex = Assert.Throws<InvalidOptionsException>(options.Validate);

        Assert.Contains(ex.Problems, p => p.StartsWith("Bm25: ", StringComparison.Ordinal) && p.Contains("K1", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.StartsWith("Hnsw: ", StringComparison.Ordinal) && p.Contains('M'));
    }

    [Fact]
    public void ValidOptions_HaveNoProblems()
    {
        Assert.Empty(OptionsValidator.FindProblems(new ChunkerOptions()));
        Assert.Empty(OptionsValidator.FindProblems(new DocumentIndexOptions()));
    }

    [Fact]
    public void BindOptions_FailsAtStartUp_WithTheSameProblemsPrefixedByTheConfigurationPath()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmAdapt:Chunks:MaxTokens"] = "0",
            ["LlmAdapt:Chunks:OverlapTokens"] = "5",
        }).Build();
        var services = new ServiceCollection();
        services.AddLlmAdapt(configuration, b => b.BindOptions<ChunkerOptions>("Chunks"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ChunkerOptions>>().Value);

        Assert.Equal(2, ex.Failures.Count());
        Assert.All(ex.Failures, f => Assert.StartsWith("LlmAdapt:Chunks: ", f, StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("OverlapTokens (5)", StringComparison.Ordinal));
    }
}
