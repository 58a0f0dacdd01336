using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Hosting.Tests;

/// <summary>
/// One server for the tests that share it: the shared tiny GPT-2 (ONNX Runtime GenAI's test model) as chat model
/// <c>gpt2</c>, the built-in all-MiniLM-L6-v2 as embedding model <c>minilm</c>, and an API key.
/// </summary>
public sealed class ServedModelsFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-test-0123456789abcdef";

    private LoopbackServer? _server;

    internal LoopbackServer Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>Gets the client the server wraps, for in-process reference answers.</summary>
    internal OnnxChatClient Chat { get; } = Gpt2Client();

    internal OnnxEmbeddingGenerator Embeddings { get; } = OnnxEmbeddingGenerator.CreateDefault();

    /// <summary>
    /// The GPT-2 fixture scores only ids below 1,000 (few words), so its prompt is the last message's text alone, with
    /// no template around it.
    /// </summary>
    internal static OnnxChatClient Gpt2Client() => new(GenerationModels.Gpt2, new OnnxChatClientOptions
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
    }
}
