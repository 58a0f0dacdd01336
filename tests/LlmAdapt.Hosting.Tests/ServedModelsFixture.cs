using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Hosting.Tests;

/// <summary>
/// One server for the tests that share it: the shared tiny GPT-2 (ONNX Runtime GenAI's test model) as chat model
/// <c>gpt2</c> (continuous batching on, so concurrent requests share decode steps; reference answers come from the
/// unbatched <see cref="GenerationModels.Gpt2"/>), the built-in all-MiniLM-L6-v2 as embedding model <c>minilm</c>, and an API key.
/// </summary>
public sealed class ServedModelsFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-test-0123456789abcdef";

    private LoopbackServer? _server;

    internal LoopbackServer Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>Gets the client the server wraps, for in-process reference answers.</summary>
    public ServedModelsFixture() => Chat = Gpt2Client(Batched);

    internal OnnxChatClient Chat { get; }

    /// <summary>Gets the served model (this fixture's own): the GPT-2 fixture with up to 8 sequences per decode step.</summary>
    internal OnnxDecoderModel Batched { get; } = OnnxDecoderModel.Load(GenerationModels.Gpt2Directory, new OnnxDecoderModelOptions { MaxBatchSize = 8 });

    internal OnnxEmbeddingGenerator Embeddings { get; } = OnnxEmbeddingGenerator.CreateDefault();

    /// <summary>
    /// The GPT-2 fixture scores only ids below 1,000 (few words), so its prompt is the last message's text alone, with
    /// no template around it.
    /// </summary>
    internal static OnnxChatClient Gpt2Client(OnnxDecoderModel model) => new(model, new OnnxChatClientOptions
    {
        Formatter = messages => messages[^1].Text,
        DefaultMaxOutputTokens = 16,
        ModelId = "gpt2",
    });

    public async Task InitializeAsync()
    {
        _server = await LoopbackServer.StartAsync(
            services =>
            {
                services.AddKeyedChatClient("gpt2", Chat);
                services.AddKeyedEmbeddingGenerator("minilm", (IEmbeddingGenerator<string, Embedding<float>>)Embeddings);
            },
            options =>
            {
                options.ChatModels.Add("gpt2");
                options.EmbeddingModels.Add("minilm");
                options.ApiKeys.Add(ApiKey);
                options.MaxOutputTokens = 64;
                options.MaxRequestBodyBytes = 64 * 1024;
            });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Embeddings.Dispose();
        Batched.Dispose();
    }
}
