using System.Runtime.InteropServices;
using System.Text.Json;
using LlmAdapt.Hosting.Protocol;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Hosting;

/// <summary><c>POST /v1/embeddings</c> over an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of strings.</summary>
internal static class EmbeddingsEndpoint
{
    public static async Task HandleAsync(HttpContext http, OpenAIServer server, ServedRequest served)
    {
        var request = await server.ReadBodyAsync(http, OpenAIJsonContext.Default.EmbeddingRequest).ConfigureAwait(false);
        served.Model = request.Model;
        await RespondAsync(http, server, request).ConfigureAwait(false);
    }

    private static async Task RespondAsync(HttpContext http, OpenAIServer server, EmbeddingRequest request)
    {
        var model = RequestFields.RequireModel(request.Model, server.Options.EmbeddingModels, "Embedding", request.Other);
        var base64 = request.EncodingFormat switch
        {
            null or "float" => false,
            "base64" => true,
            _ => throw OpenAIRequestException.Invalid("encoding_format", $"encoding_format is '{request.EncodingFormat}'; expected 'float' or 'base64'."),
        };
        var inputs = Inputs(request.Input, server.Options.MaxEmbeddingInputs);
        var generator = http.RequestServices.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>(model);
        if (request.Dimensions is { } dimensions)
        {
            var native = generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelDimensions;
            if (native != dimensions)
            {
                throw OpenAIRequestException.Unsupported("dimensions", $"dimensions is {dimensions}, but model '{model}' gives {native?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "vectors of its own size"} and cannot shorten them.");
            }
        }

        var embeddings = await generator.GenerateAsync(inputs, cancellationToken: http.RequestAborted).ConfigureAwait(false);
        var data = new List<EmbeddingDto>(embeddings.Count);
        for (var i = 0; i < embeddings.Count; i++)
        {
            var vector = embeddings[i].Vector;
            data.Add(new EmbeddingDto
            {
                Index = i,
                Embedding = base64 ? Convert.ToBase64String(MemoryMarshal.AsBytes(vector.Span)) : vector.ToArray(),
            });
        }

        var tokens = embeddings.Usage?.InputTokenCount ?? 0;
        var body = new EmbeddingResponse { Data = data, Model = model, Usage = new EmbeddingUsageDto { PromptTokens = tokens, TotalTokens = tokens } };
        await OpenAIServer.WriteJsonAsync(http.Response, StatusCodes.Status200OK, body, OpenAIJsonContext.Default.EmbeddingResponse).ConfigureAwait(false);
    }

    private static List<string> Inputs(JsonElement? input, int max)
    {
        List<string> texts;
        if (input is { ValueKind: JsonValueKind.String } single)
        {
            texts = [single.GetString()!];
        }
        else if (input is { ValueKind: JsonValueKind.Array } array && array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            texts = [.. array.EnumerateArray().Select(e => e.GetString()!)];
        }
        else if (input is { ValueKind: JsonValueKind.Array })
        {
            throw OpenAIRequestException.Unsupported("input", "input must be a string or an array of strings; token-id arrays are not supported here.");
        }
        else
        {
            throw OpenAIRequestException.Invalid("input", "input must be a string or an array of strings.");
        }

        if (texts.Count == 0 || texts.Count > max)
        {
            throw OpenAIRequestException.Invalid("input", $"input has {texts.Count} texts; this server takes from 1 to {max} per request.");
        }

        var empty = texts.FindIndex(t => t.Length == 0);
        return empty < 0 ? texts : throw OpenAIRequestException.Invalid("input", $"input[{empty}] is empty; every text needs at least one character.");
    }
}
