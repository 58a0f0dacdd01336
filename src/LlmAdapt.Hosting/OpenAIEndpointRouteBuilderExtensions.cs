using LlmAdapt.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps OpenAI's HTTP API onto the host's chat clients and embedding generators.</summary>
public static class OpenAIEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST {prefix}/chat/completions</c> (JSON, or server-sent events with <c>stream: true</c>),
    /// <c>POST {prefix}/embeddings</c>, <c>GET {prefix}/models</c> and <c>GET {prefix}/models/{model}</c> over the keyed
    /// <c>IChatClient</c>s and <c>IEmbeddingGenerator</c>s named in <see cref="OpenAIServerOptions"/>. Requests and
    /// answers follow OpenAI's schema; fields this server cannot honour get a 400 in OpenAI's error shape; a client
    /// that disconnects cancels its generation. Call <c>AddOpenAIServer</c> on the services first.
    /// </summary>
    /// <param name="endpoints">The application or a route group.</param>
    /// <param name="prefix">The path the endpoints live under. Default: <c>/v1</c>, where OpenAI's SDKs look.</param>
    /// <returns>The group of endpoints, for conventions such as <c>RequireHost</c>.</returns>
    /// <exception cref="InvalidOperationException"><c>AddOpenAIServer</c> was not called.</exception>
    public static RouteGroupBuilder MapLlmAdaptOpenAI(this IEndpointRouteBuilder endpoints, string prefix = "/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var server = endpoints.ServiceProvider.GetService<OpenAIServer>()
            ?? throw new InvalidOperationException("MapLlmAdaptOpenAI needs services.AddLlmAdapt().AddOpenAIServer(...) first.");
        var group = endpoints.MapGroup(prefix);
        group.MapPost("/chat/completions", http => server.InvokeAsync(http, "chat", (h, served) => ChatCompletionsEndpoint.HandleAsync(h, server, served)));
        group.MapPost("/embeddings", http => server.InvokeAsync(http, "embeddings", (h, served) => EmbeddingsEndpoint.HandleAsync(h, server, served)));
        group.MapGet("/models", http => server.InvokeAsync(http, null, (h, _) => ModelsEndpoint.ListAsync(h, server)));
        group.MapGet("/models/{model}", http => server.InvokeAsync(http, null, (h, _) => ModelsEndpoint.GetAsync(h, server)));
        return group;
    }
}
