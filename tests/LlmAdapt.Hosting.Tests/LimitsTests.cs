using System.Net;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Hosting.Tests;

/// <summary>Concurrency slots, 429 with Retry-After, client disconnects, and options refused at start-up.</summary>
public sealed class LimitsTests
{
    private const string Request = """{"model":"gated","messages":[{"role":"user","content":"hi"}]}""";
    private const string StreamRequest = """{"model":"gated","messages":[{"role":"user","content":"hi"}],"stream":true}""";

    [Fact]
    public async Task AllSlotsTaken_Gets429WithRetryAfter_AndTheSlotIsFreedAfterwards()
    {
        var gate = new GatedChatClient();
        await using var server = await Gated(gate, queue: 0);
        using var http = server.HttpClient(null);

        var first = http.PostAsync("chat/completions", ChatCompletionsTests.Json(Request));
        await gate.Started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        using var refused = await http.PostAsync("chat/completions", ChatCompletionsTests.Json(Request));
        Assert.Equal(1, server.BusySlots);
        gate.Release.SetResult();
        using var answered = await first;

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("rate_limit_exceeded", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Contains("released", await answered.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, server.BusySlots);
    }

    [Fact]
    public async Task ClientDisconnect_CancelsGeneration_AndFreesTheSlot()
    {
        var gate = new GatedChatClient();
        await using var server = await Gated(gate, queue: 4);
        using var http = server.HttpClient(null);

        using (var message = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = ChatCompletionsTests.Json(StreamRequest) })
        using (var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var seen = string.Empty;
            while (!seen.Contains("first", StringComparison.Ordinal))
            {
                seen += await reader.ReadLineAsync() + "\n";
            }

            await gate.Started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }

        // Disposing the response mid-stream closes the connection; the server's RequestAborted reaches the client.
        await gate.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // One slot: the next request is served only once the abandoned one has given its slot back.
        gate.Reset();
        gate.Release.SetResult();
        using var next = await http.PostAsync("chat/completions", ChatCompletionsTests.Json(Request));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(0, server.BusySlots);
    }

    [Fact]
    public async Task InvalidOptions_FailAtStartUp_NamingEachOption()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => LoopbackServer.StartAsync(
            services => services.AddKeyedChatClient("gated", new GatedChatClient()),
            options =>
            {
                options.ChatModels.Add("gated");
                options.ChatModels.Add("missing");
                options.EmbeddingModels.Add("gated");
                options.MaxConcurrentRequests = 0;
                options.MaxRequestBodyBytes = 10;
                options.ApiKeys.Add(" ");
            }));

        Assert.Contains("MaxConcurrentRequests", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRequestBodyBytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("LlmAdapt:OpenAIServer:ChatModels[1] 'missing' has no IChatClient", ex.Message, StringComparison.Ordinal);
        Assert.Contains("LlmAdapt:OpenAIServer:EmbeddingModels[0] 'gated'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("LlmAdapt:OpenAIServer:ApiKeys[0] is empty", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-", ex.Message, StringComparison.Ordinal);
    }

    private static Task<LoopbackServer> Gated(GatedChatClient gate, int queue) => LoopbackServer.StartAsync(
        services => services.AddKeyedChatClient("gated", gate),
        options =>
        {
            options.ChatModels.Add("gated");
            options.MaxConcurrentRequests = 1;
            options.MaxQueuedRequests = queue;
            options.RetryAfterSeconds = 7;
        });
}
