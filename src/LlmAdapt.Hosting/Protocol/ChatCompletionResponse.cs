using System.Text.Json.Serialization;

namespace LlmAdapt.Hosting.Protocol;

/// <summary>A <c>chat.completion</c> object.</summary>
internal sealed class ChatCompletionResponse
{
    public required string Id { get; init; }

    public string Object => "chat.completion";

    public required long Created { get; init; }

    public required string Model { get; init; }

    public required List<ChatChoiceDto> Choices { get; init; }

    public required UsageDto Usage { get; init; }
}

/// <summary>One choice of a <c>chat.completion</c>.</summary>
internal sealed class ChatChoiceDto
{
    public required int Index { get; init; }

    public required ResponseMessageDto Message { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required string? FinishReason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Logprobs => null;
}

/// <summary>The assistant's message, or a streamed delta of it.</summary>
internal sealed class ResponseMessageDto
{
    public string? Role { get; init; }

    public string? Content { get; init; }
}

/// <summary>Token counts.</summary>
internal sealed class UsageDto
{
    public required long PromptTokens { get; init; }

    public required long CompletionTokens { get; init; }

    public required long TotalTokens { get; init; }
}

/// <summary>A <c>chat.completion.chunk</c> object: one server-sent event of a streamed response.</summary>
internal sealed class ChatCompletionChunk
{
    public required string Id { get; init; }

    public string Object => "chat.completion.chunk";

    public required long Created { get; init; }

    public required string Model { get; init; }

    public required List<ChunkChoiceDto> Choices { get; init; }

    /// <summary>Only on the last chunk, which has no choices, when usage was asked for (<c>stream_options.include_usage</c>).</summary>
    public UsageDto? Usage { get; init; }
}

/// <summary>One choice of a chunk.</summary>
internal sealed class ChunkChoiceDto
{
    public required int Index { get; init; }

    public required ResponseMessageDto Delta { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Logprobs => null;
}
