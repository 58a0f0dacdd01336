using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmAdapt.Hosting.Protocol;

/// <summary>The body of <c>POST /v1/chat/completions</c>, as OpenAI publishes it (the fields this server reads).</summary>
internal sealed class ChatCompletionRequest
{
    public string? Model { get; set; }

    public List<ChatMessageDto>? Messages { get; set; }

    public float? Temperature { get; set; }

    public float? TopP { get; set; }

    /// <summary>vLLM's extension, also read by Ollama's OpenAI endpoint.</summary>
    public int? TopK { get; set; }

    public int? MaxTokens { get; set; }

    public int? MaxCompletionTokens { get; set; }

    /// <summary>A string, an array of up to four strings, or null.</summary>
    public JsonElement? Stop { get; set; }

    public long? Seed { get; set; }

    public int? N { get; set; }

    public string? User { get; set; }

    public bool? Stream { get; set; }

    public StreamOptionsDto? StreamOptions { get; set; }

    public float? FrequencyPenalty { get; set; }

    public float? PresencePenalty { get; set; }

    /// <summary>Every other field: accepted only when it asks for nothing (null, false, empty, or its default).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary><c>stream_options</c>.</summary>
internal sealed class StreamOptionsDto
{
    public bool? IncludeUsage { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>One message of a request: <c>content</c> is a string or an array of parts (text parts only here).</summary>
internal sealed class ChatMessageDto
{
    public string? Role { get; set; }

    public JsonElement? Content { get; set; }

    public string? Name { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}
