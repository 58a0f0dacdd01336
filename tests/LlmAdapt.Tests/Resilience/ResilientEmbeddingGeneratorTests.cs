using System.Net;
using LlmAdapt.Resilience;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LlmAdapt.Tests.Resilience;

public sealed class ResilientEmbeddingGeneratorTests
{
    [Fact]
    public async Task TransientFailure_IsRetried_ThroughTheBuilderExtension()
    {
        var time = new FakeTimeProvider();
        using var inner = new FlakyGenerator(failures: 2);
        var services = new ServiceCollection().AddSingleton<TimeProvider>(time).BuildServiceProvider();
        using var generator = new EmbeddingGeneratorBuilder<string, Embedding<float>>(inner)
            .UseLlmAdaptResilience(o => { o.BaseDelay = TimeSpan.Zero; o.UseJitter = false; })
            .Build(services);

        var result = await generator.GenerateAsync(["a", "b"]);

        Assert.Equal(2, result.Count);
        Assert.Equal(3, inner.Calls);
        Assert.NotNull(generator.GetService<ResilientEmbeddingGenerator>());
    }

    [Fact]
    public async Task NonTransientFailure_IsNotRetried()
    {
        using var inner = new FlakyGenerator(failures: 5, status: HttpStatusCode.BadRequest);
        using var generator = new ResilientEmbeddingGenerator(inner, new LlmAdaptResilienceOptions { BaseDelay = TimeSpan.Zero });
        await Assert.ThrowsAsync<HttpRequestException>(() => generator.GenerateAsync(["a"]));
        Assert.Equal(1, inner.Calls);
    }

    private sealed class FlakyGenerator(int failures, HttpStatusCode status = HttpStatusCode.ServiceUnavailable) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public int Calls { get; private set; }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            if (Calls <= failures)
            {
                throw new HttpRequestException("flaky", null, status);
            }

            return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>(new float[] { v.Length }))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
