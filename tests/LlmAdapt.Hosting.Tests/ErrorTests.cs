using System.ClientModel;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI.Chat;

namespace LlmAdapt.Hosting.Tests;

/// <summary>Refusals in OpenAI's error shape, as the official SDK and a raw HTTP client see them.</summary>
public sealed class ErrorTests(ServedModelsFixture fixture) : IClassFixture<ServedModelsFixture>
{
    private ChatClient Sdk(string model = "gpt2") => fixture.Server.OpenAIClient(ServedModelsFixture.ApiKey).GetChatClient(model);

    [Fact]
    public async Task BadJson_Gets400InOpenAIsShape()
    {
        using var http = fixture.Server.HttpClient(ServedModelsFixture.ApiKey);
        using var response = await http.PostAsync("chat/completions", ChatCompletionsTests.Json("""{"model":"gpt2","messages":[{"role":"user","""));

        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_json", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task TypedFieldOfTheWrongJsonType_Gets400InvalidJsonNamingIt()
    {
        using var http = fixture.Server.HttpClient(ServedModelsFixture.ApiKey);
        using var response = await http.PostAsync("chat/completions", ChatCompletionsTests.Json("""{"model":"gpt2","messages":[{"role":"user","content":"a b"}],"temperature":"hot"}"""));

        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_json", error.GetProperty("code").GetString());
        Assert.Contains("temperature", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownModel_Gets404FromTheSdk()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Sdk("gpt-5").CompleteChatAsync([new UserChatMessage("a b c")]));

        Assert.Equal(404, ex.Status);
        Assert.Contains("model_not_found", ex.Message, StringComparison.Ordinal);
        Assert.Contains("gpt-5", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OverLongPrompt_Gets400ContextLengthExceeded()
    {
        // 600 tokens of " the" against the fixture's 512-position context.
        var prompt = string.Concat(Enumerable.Repeat(" the", 600));

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Sdk().CompleteChatAsync([new UserChatMessage(prompt)]));

        Assert.Equal(400, ex.Status);
        Assert.Contains("context_length_exceeded", ex.Message, StringComparison.Ordinal);
        Assert.Contains("600", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tools_AreRefused_NotDropped()
    {
        var options = new ChatCompletionOptions();
        options.Tools.Add(ChatTool.CreateFunctionTool("lookup", "Looks a word up."));

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Sdk().CompleteChatAsync([new UserChatMessage("a b c")], options));

        Assert.Equal(400, ex.Status);
        Assert.Contains("'tools' is not supported", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonResponseFormat_IsRefused_ThroughExtensionsAI()
    {
        using var client = Sdk().AsIChatClient();

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync("a b c", new ChatOptions { ResponseFormat = Microsoft.Extensions.AI.ChatResponseFormat.Json }));

        Assert.Equal(400, ex.Status);
        Assert.Contains("response_format", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImageContent_IsRefused()
    {
        var message = new UserChatMessage(ChatMessageContentPart.CreateTextPart("a"), ChatMessageContentPart.CreateImagePart(new Uri("https://example.invalid/cat.png")));

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Sdk().CompleteChatAsync([message]));

        Assert.Equal(400, ex.Status);
        Assert.Contains("messages[0].content", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxTokensAboveTheCap_Gets400NamingTheField()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Sdk().CompleteChatAsync([new UserChatMessage("a b c")], new ChatCompletionOptions { MaxOutputTokenCount = 65 }));

        Assert.Equal(400, ex.Status);
        Assert.Contains("max_completion_tokens is 65", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"gpt2","messages":[]}""", "messages")]
    [InlineData("""{"model":"gpt2","messages":[{"role":"tool","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"gpt2","messages":[{"role":"user","content":"a"}],"temperature":3}""", "temperature")]
    [InlineData("""{"model":"gpt2","messages":[{"role":"user","content":"a"}],"n":9}""", "n")]
    [InlineData("""{"model":"gpt2","messages":[{"role":"user","content":"a"}],"stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData("""{"model":"gpt2","messages":[{"role":"user","content":"a"}],"logprobs":true}""", "logprobs")]
    [InlineData("""{"messages":[{"role":"user","content":"a"}]}""", "model")]
    public async Task InvalidFields_Get400NamingTheField(string body, string param)
    {
        using var http = fixture.Server.HttpClient(ServedModelsFixture.ApiKey);
        using var response = await http.PostAsync("chat/completions", ChatCompletionsTests.Json(body));

        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task InertDefaults_AreAccepted()
    {
        using var http = fixture.Server.HttpClient(ServedModelsFixture.ApiKey);
        using var response = await http.PostAsync("chat/completions", ChatCompletionsTests.Json(
            """{"model":"gpt2","messages":[{"role":"developer","content":"a"},{"role":"user","content":[{"type":"text","text":"a b c"}]}],"max_tokens":4,"logprobs":false,"response_format":{"type":"text"},"tools":[],"presence_penalty":0,"user":"u-1","seed":1,"stop":null}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task MissingOrWrongKey_Gets401()
    {
        using var none = fixture.Server.HttpClient(apiKey: null);
        using var noKey = await none.GetAsync("models");
        var wrong = await Assert.ThrowsAsync<ClientResultException>(() => fixture.Server.OpenAIClient("sk-test-0123456789abcdeX").GetChatClient("gpt2").CompleteChatAsync([new UserChatMessage("a")]));

        Assert.Equal("invalid_api_key", (await ErrorOf(noKey, HttpStatusCode.Unauthorized)).GetProperty("code").GetString());
        Assert.Equal(401, wrong.Status);
    }

    [Fact]
    public async Task BodyOverTheCap_Gets413()
    {
        var text = new string('a', 70 * 1024);
        using var http = fixture.Server.HttpClient(ServedModelsFixture.ApiKey);
        using var response = await http.PostAsync("chat/completions", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "gpt2", messages = new[] { new { role = "user", content = text } } })));

        Assert.Equal("request_too_large", (await ErrorOf(response, HttpStatusCode.RequestEntityTooLarge)).GetProperty("code").GetString());
    }

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
    }
}
