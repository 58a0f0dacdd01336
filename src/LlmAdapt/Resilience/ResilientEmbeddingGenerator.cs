using Microsoft.Extensions.AI;
using Polly;

namespace LlmAdapt.Resilience;

/// <summary>
/// Embedding middleware with the same retry, timeout, circuit-breaker and concurrency rules as <see cref="ResilientChatClient"/>.
/// </summary>
public sealed class ResilientEmbeddingGenerator : DelegatingEmbeddingGenerator<string, Embedding<float>>
{
    private readonly ResiliencePipeline _pipeline;

    /// <summary>Initializes the middleware.</summary>
    /// <param name="innerGenerator">The embedding generator.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="timeProvider">The clock for delays and timeouts; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid.</exception>
    public ResilientEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> innerGenerator, LlmAdaptResilienceOptions options, TimeProvider? timeProvider = null)
        : base(innerGenerator)
    {
        _pipeline = ModelResiliencePipeline.Create(options, timeProvider ?? TimeProvider.System);
    }

    /// <inheritdoc />
    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = values as IReadOnlyList<string> ?? [.. values];
        return await ModelResiliencePipeline.ExecuteAsync(
            _pipeline,
            async (state, ct) => await state.Self.InnerGenerator.GenerateAsync(state.List, state.Options, ct).ConfigureAwait(false),
            (Self: this, List: list, Options: options),
            cancellationToken).ConfigureAwait(false);
    }
}
