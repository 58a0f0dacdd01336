using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmAdapt.Hosting.Protocol;

/// <summary>The body of <c>POST /v1/embeddings</c>.</summary>
internal sealed class EmbeddingRequest
{
    public string? Model { get; set; }

    /// <summary>A string or an array of strings (token arrays are refused).</summary>
    public JsonElement? Input { get; set; }

    /// <summary><c>float</c> (default) or <c>base64</c> (little-endian float32, as OpenAI's SDKs ask by default).</summary>
    public string? EncodingFormat { get; set; }

    public int? Dimensions { get; set; }

    public string? User { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>The answer of <c>/v1/embeddings</c>.</summary>
internal sealed class EmbeddingResponse
{
    public string Object => "list";

    public required List<EmbeddingDto> Data { get; init; }

    public required string Model { get; init; }

    public required EmbeddingUsageDto Usage { get; init; }
}

/// <summary>One embedding: a float array, or a base64 string of float32 values.</summary>
internal sealed class EmbeddingDto
{
    public string Object => "embedding";

    public required int Index { get; init; }

    /// <summary>A <c>float[]</c> or a base64 <c>string</c>.</summary>
    public required object Embedding { get; init; }
}

/// <summary>Token counts of an embeddings request.</summary>
internal sealed class EmbeddingUsageDto
{
    public required long PromptTokens { get; init; }

    public required long TotalTokens { get; init; }
}

/// <summary>The answer of <c>/v1/models</c>.</summary>
internal sealed class ModelListDto
{
    public string Object => "list";

    public required List<ModelDto> Data { get; init; }
}

/// <summary>One model.</summary>
internal sealed class ModelDto
{
    public required string Id { get; init; }

    public string Object => "model";

    public required long Created { get; init; }

    public required string OwnedBy { get; init; }
}

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
internal sealed class ErrorResponse
{
    public required ErrorDto Error { get; init; }
}

/// <summary>The error itself.</summary>
internal sealed class ErrorDto
{
    public required string Message { get; init; }

    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }
}
