using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LlmAdapt.Hosting.Protocol;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Hosting;

/// <summary><c>POST /v1/chat/completions</c>: OpenAI's request mapped onto <see cref="IChatClient"/>, the answer mapped back.</summary>
internal static class ChatCompletionsEndpoint
{
    public static async Task HandleAsync(HttpContext http, OpenAIServer server, ServedRequest served)
    {
        var request = await server.ReadBodyAsync(http, OpenAIJsonContext.Default.ChatCompletionRequest).ConfigureAwait(false);
        served.Model = request.Model;
        var (client, messages, options, choices) = Prepare(http, server, request);
        if (request.Stream == true)
        {
            await StreamAsync(http, server, client, request, messages, options, served.Started).ConfigureAwait(false);
        }
        else
        {
            await CompleteAsync(http, server, client, request.Model!, messages, options, choices).ConfigureAwait(false);
        }
    }

    private static (IChatClient Client, List<ChatMessage> Messages, ChatOptions Options, int Choices) Prepare(HttpContext http, OpenAIServer server, ChatCompletionRequest request)
    {
        var model = RequestFields.RequireModel(request.Model, server.Options.ChatModels, "Chat", request.Other);
        if (request.StreamOptions?.Other is { } streamOther)
        {
            RequestFields.RefuseActive(streamOther, model, "stream_options.");
        }

        if (request.StreamOptions is not null && request.Stream != true)
        {
            throw OpenAIRequestException.Invalid("stream_options", "stream_options is only allowed when stream is true.");
        }

        var messages = ToMessages(request.Messages);
        var options = new ChatOptions();
        if (request.Temperature is { } temperature)
        {
            options.Temperature = temperature is >= 0 and <= 2 ? temperature : throw OpenAIRequestException.Invalid("temperature", $"temperature is {temperature}; it must be from 0 to 2.");
        }

        if (request.TopP is { } topP)
        {
            options.TopP = topP is > 0 and <= 1 ? topP : throw OpenAIRequestException.Invalid("top_p", $"top_p is {topP}; it must be above 0 and at most 1.");
        }

        if (request.TopK is { } topK)
        {
            options.TopK = topK == -1 ? null : topK >= 0 ? topK : throw OpenAIRequestException.Invalid("top_k", $"top_k is {topK}; it must be -1 (off) or at least 0.");
        }

        options.MaxOutputTokens = MaxTokens(request, server.Options.MaxOutputTokens);
        options.Seed = request.Seed;
        options.StopSequences = Stops(request.Stop);
        if (request.FrequencyPenalty is { } frequency && frequency != 0)
        {
            options.FrequencyPenalty = frequency is >= -2 and <= 2 ? frequency : throw OpenAIRequestException.Invalid("frequency_penalty", $"frequency_penalty is {frequency}; it must be from -2 to 2.");
        }

        if (request.PresencePenalty is { } presence && presence != 0)
        {
            options.PresencePenalty = presence is >= -2 and <= 2 ? presence : throw OpenAIRequestException.Invalid("presence_penalty", $"presence_penalty is {presence}; it must be from -2 to 2.");
        }

        var choices = request.N ?? 1;
        if (choices < 1 || choices > server.Options.MaxChoices)
        {
            throw OpenAIRequestException.Invalid("n", $"n is {choices}; this server allows from 1 to {server.Options.MaxChoices}.");
        }

        if (choices > 1 && request.Stream == true)
        {
            throw OpenAIRequestException.Unsupported("n", "n above 1 is not supported with stream: true here; ask for the choices without streaming.");
        }

        var client = http.RequestServices.GetRequiredKeyedService<IChatClient>(model);
        return (client, messages, options, choices);
    }

    private static int? MaxTokens(ChatCompletionRequest request, int cap)
    {
        if (request.MaxTokens is { } a && request.MaxCompletionTokens is { } b && a != b)
        {
            throw OpenAIRequestException.Invalid("max_completion_tokens", $"max_tokens ({a}) and max_completion_tokens ({b}) disagree; send one of them.");
        }

        var (value, param) = request.MaxCompletionTokens is { } c ? (c, "max_completion_tokens") : request.MaxTokens is { } d ? (d, "max_tokens") : (0, null);
        if (param is null)
        {
            return null;
        }

        return value >= 1 && value <= cap ? value : throw OpenAIRequestException.Invalid(param, $"{param} is {value}; this server allows from 1 to {cap}.");
    }

    private static List<string>? Stops(JsonElement? stop)
    {
        if (stop is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return [element.GetString()!];
        }

        if (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() <= 4 && element.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
        {
            return [.. element.EnumerateArray().Select(e => e.GetString()!)];
        }

        throw OpenAIRequestException.Invalid("stop", "stop must be a string or an array of up to 4 strings.");
    }

    private static List<ChatMessage> ToMessages(List<ChatMessageDto>? dtos)
    {
        if (dtos is null || dtos.Count == 0)
        {
            throw OpenAIRequestException.Invalid("messages", "messages must be a non-empty array.");
        }

        var messages = new List<ChatMessage>(dtos.Count);
        for (var i = 0; i < dtos.Count; i++)
        {
            var dto = dtos[i] ?? throw OpenAIRequestException.Invalid($"messages[{i}]", $"messages[{i}] is null.");
            var role = dto.Role switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                "tool" or "function" => throw OpenAIRequestException.Unsupported($"messages[{i}].role", $"messages[{i}] has role '{dto.Role}': this server does not relay tool calls."),
                _ => throw OpenAIRequestException.Invalid($"messages[{i}].role", $"messages[{i}].role is '{dto.Role}'; expected system, developer, user or assistant."),
            };
            RequestFields.RefuseActive(dto.Other, null, $"messages[{i}].");
            messages.Add(new ChatMessage(role, Text(dto.Content, i)) { AuthorName = dto.Name });
        }

        return messages;
    }

    private static string Text(JsonElement? content, int index)
    {
        if (content is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return string.Empty;
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString()!;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            throw OpenAIRequestException.Invalid($"messages[{index}].content", $"messages[{index}].content must be a string or an array of content parts.");
        }

        var text = new StringBuilder();
        foreach (var part in element.EnumerateArray())
        {
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type != "text" || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
            {
                throw OpenAIRequestException.Unsupported($"messages[{index}].content", $"messages[{index}] has a content part of type '{type}': only text parts are supported.");
            }

            text.Append(value.GetString());
        }

        return text.ToString();
    }

    private static async Task CompleteAsync(HttpContext http, OpenAIServer server, IChatClient client, string model, List<ChatMessage> messages, ChatOptions options, int choices)
    {
        var results = new List<ChatChoiceDto>(choices);
        long prompt = 0, completion = 0;
        for (var i = 0; i < choices; i++)
        {
            // Each choice is its own draw: with a seed, choice i samples with seed + i.
            var choiceOptions = i == 0 ? options : options.Clone();
            if (i > 0 && options.Seed is { } seed)
            {
                choiceOptions.Seed = seed + i;
            }

            var response = await client.GetResponseAsync(messages, choiceOptions, http.RequestAborted).ConfigureAwait(false);
            results.Add(new ChatChoiceDto
            {
                Index = i,
                Message = new ResponseMessageDto { Role = "assistant", Content = response.Text },
                FinishReason = FinishReason(response.FinishReason),
            });
            prompt = Math.Max(prompt, response.Usage?.InputTokenCount ?? 0);
            completion += response.Usage?.OutputTokenCount ?? 0;
        }

        var body = new ChatCompletionResponse
        {
            Id = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            Created = server.UnixNow,
            Model = model,
            Choices = results,
            Usage = new UsageDto { PromptTokens = prompt, CompletionTokens = completion, TotalTokens = prompt + completion },
        };
        await OpenAIServer.WriteJsonAsync(http.Response, StatusCodes.Status200OK, body, OpenAIJsonContext.Default.ChatCompletionResponse).ConfigureAwait(false);
    }

    private static async Task StreamAsync(HttpContext http, OpenAIServer server, IChatClient client, ChatCompletionRequest request, List<ChatMessage> messages, ChatOptions options, long started)
    {
        var model = request.Model!;
        var aborted = http.RequestAborted;
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = server.UnixNow;
        ChatFinishReason? finish = null;
        UsageDetails? usage = null;
        TimeSpan? firstToken = null;

        var updates = client.GetStreamingResponseAsync(messages, options, aborted).GetAsyncEnumerator(aborted);
        await using (updates.ConfigureAwait(false))
        {
            // The first update is awaited before the stream starts, so a refused request still gets a plain 4xx.
            var more = await updates.MoveNextAsync().ConfigureAwait(false);
            OpenAIServer.StartEventStream(http.Response);
            await OpenAIServer.WriteEventAsync(http.Response, Chunk(id, created, model, new ResponseMessageDto { Role = "assistant", Content = string.Empty }, null), OpenAIJsonContext.Default.ChatCompletionChunk, aborted).ConfigureAwait(false);
            while (more)
            {
                var update = updates.Current;
                finish = update.FinishReason ?? finish;
                usage = update.Contents.OfType<UsageContent>().LastOrDefault()?.Details ?? usage;
                var text = update.Text;
                if (text.Length > 0)
                {
                    firstToken ??= Stopwatch.GetElapsedTime(started);
                    await OpenAIServer.WriteEventAsync(http.Response, Chunk(id, created, model, new ResponseMessageDto { Content = text }, null), OpenAIJsonContext.Default.ChatCompletionChunk, aborted).ConfigureAwait(false);
                }

                more = await updates.MoveNextAsync().ConfigureAwait(false);
            }
        }

        await OpenAIServer.WriteEventAsync(http.Response, Chunk(id, created, model, new ResponseMessageDto(), FinishReason(finish) ?? "stop"), OpenAIJsonContext.Default.ChatCompletionChunk, aborted).ConfigureAwait(false);
        if (request.StreamOptions?.IncludeUsage == true)
        {
            long prompt = usage?.InputTokenCount ?? 0, completion = usage?.OutputTokenCount ?? 0;
            await OpenAIServer.WriteEventAsync(
                http.Response,
                new ChatCompletionChunk { Id = id, Created = created, Model = model, Choices = [], Usage = new UsageDto { PromptTokens = prompt, CompletionTokens = completion, TotalTokens = prompt + completion } },
                OpenAIJsonContext.Default.ChatCompletionChunk,
                aborted).ConfigureAwait(false);
        }

        await OpenAIServer.WriteDoneAsync(http.Response, aborted).ConfigureAwait(false);
        if (firstToken is { } first)
        {
            ServerMetrics.RecordStream(model, first, Stopwatch.GetElapsedTime(started), usage?.OutputTokenCount ?? 0);
        }
    }

    private static ChatCompletionChunk Chunk(string id, long created, string model, ResponseMessageDto delta, string? finish)
        => new() { Id = id, Created = created, Model = model, Choices = [new ChunkChoiceDto { Index = 0, Delta = delta, FinishReason = finish }] };

    private static string? FinishReason(ChatFinishReason? reason)
        => reason is null ? null
            : reason == ChatFinishReason.Length ? "length"
            : reason == ChatFinishReason.ContentFilter ? "content_filter"
            : reason == ChatFinishReason.ToolCalls ? "tool_calls"
            : "stop";
}
