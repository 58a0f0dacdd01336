using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmAdapt.Cli.Tests.Prompting;

/// <summary>
/// A loopback OpenAI-compatible endpoint: answers POST /v1/chat/completions with a scripted reply and records every
/// request body and Authorization header.
/// </summary>
internal sealed class FakeOpenAiServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<JsonNode, string> _reply;
    private readonly Task _loop;

    public FakeOpenAiServer(Func<JsonNode, string> reply, HttpStatusCode status = HttpStatusCode.OK)
    {
        _reply = reply;
        Status = status;
        var port = FreePort();
        BaseUrl = $"http://127.0.0.1:{port}/v1";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string BaseUrl { get; }

    public HttpStatusCode Status { get; }

    public ConcurrentQueue<(string Path, string? Authorization, JsonNode Body)> Requests { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = JsonNode.Parse(await reader.ReadToEndAsync())!;
            Requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.Headers["Authorization"], body));
            string payload;
            if (Status == HttpStatusCode.OK)
            {
                payload = JsonSerializer.Serialize(new
                {
                    id = "chatcmpl-test",
                    @object = "chat.completion",
                    created = 1_700_000_000,
                    model = body["model"]?.GetValue<string>(),
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = _reply(body) }, finish_reason = "stop" } },
                    usage = new { prompt_tokens = 10, completion_tokens = 2, total_tokens = 12 },
                });
            }
            else
            {
                payload = """{"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}}""";
            }

            var bytes = Encoding.UTF8.GetBytes(payload);
            context.Response.StatusCode = (int)Status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    internal static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    public static string LastUserText(JsonNode body) => body["messages"]!.AsArray().Last(m => m!["role"]!.GetValue<string>() == "user")!["content"] switch
    {
        JsonValue v => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p => p!["text"]?.GetValue<string>())),
        _ => string.Empty,
    };
}
