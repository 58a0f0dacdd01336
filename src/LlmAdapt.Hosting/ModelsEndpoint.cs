using LlmAdapt.Hosting.Protocol;

namespace LlmAdapt.Hosting;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{model}</c>: the chat and embedding models served.</summary>
internal static class ModelsEndpoint
{
    public static Task ListAsync(HttpContext http, OpenAIServer server)
        => OpenAIServer.WriteJsonAsync(http.Response, StatusCodes.Status200OK, new ModelListDto { Data = [.. Names(server).Select(n => Model(server, n))] }, OpenAIJsonContext.Default.ModelListDto);

    public static Task GetAsync(HttpContext http, OpenAIServer server)
    {
        var name = http.Request.RouteValues["model"] as string;
        return name is not null && Names(server).Contains(name)
            ? OpenAIServer.WriteJsonAsync(http.Response, StatusCodes.Status200OK, Model(server, name), OpenAIJsonContext.Default.ModelDto)
            : throw new OpenAIRequestException(404, $"The model '{name}' does not exist.", "model", "model_not_found");
    }

    private static IEnumerable<string> Names(OpenAIServer server) => server.Options.ChatModels.Concat(server.Options.EmbeddingModels).Distinct(StringComparer.Ordinal);

    private static ModelDto Model(OpenAIServer server, string name) => new() { Id = name, Created = server.StartedAt.ToUnixTimeSeconds(), OwnedBy = "llmadapt" };
}
