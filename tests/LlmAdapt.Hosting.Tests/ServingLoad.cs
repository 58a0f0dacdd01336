using System.Net;
using System.Text;

namespace LlmAdapt.Hosting.Tests;

/// <summary>
/// Concurrent streaming clients against a served chat model over HTTP, bounded by a request count per client and a
/// deadline, whichever comes first, so a run always stops itself. Some requests hang up after their first content
/// chunk (a client that disconnects mid-stream). Used by the short load test and by the benchmarks' <c>load</c> verb.
/// </summary>
internal static class ServingLoad
{
    /// <summary>Prompts whose GPT-2 ids are all below the tiny fixture's 1,000-id vocabulary.</summary>
    private static readonly string[] s_prompts = ["a b c", " the and the", "a b c the and the", " the", "a", "b c", " and the a", "c b a b c"];

    /// <summary>Runs the clients and returns what they saw.</summary>
    /// <param name="http">A client whose base address is the server's <c>/v1/</c>.</param>
    /// <param name="model">The served chat model's name.</param>
    /// <param name="clients">Clients sending at once, each one request after another.</param>
    /// <param name="requestsPerClient">The most requests each client sends.</param>
    /// <param name="until">Clients send no new request once this token is cancelled.</param>
    /// <param name="disconnects">How many requests hang up after their first content chunk (every third until reached).</param>
    /// <param name="maxTokens">The most tokens a request asks for (each asks for 1 to this many, by a seeded draw).</param>
    /// <param name="disconnectTokens">What a request that hangs up asks for: many, so the server is still decoding it when the client goes.</param>
    public static async Task<LoadReport> RunAsync(HttpClient http, string model, int clients, int requestsPerClient, CancellationToken until, int disconnects, int maxTokens, int disconnectTokens)
    {
        var report = new LoadReport();
        var issued = 0;
        var hungUp = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            for (var i = 0; i < requestsPerClient && !until.IsCancellationRequested; i++)
            {
                var disconnect = Interlocked.Increment(ref issued) % 3 == 0 && Interlocked.Increment(ref hungUp) <= disconnects;
                var prompt = s_prompts[random.Next(s_prompts.Length)];
                var tokens = disconnect ? disconnectTokens : random.Next(1, maxTokens + 1);
                var body = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":{{tokens}},"stream":true}""";
                await OneAsync(http, body, disconnect, report).ConfigureAwait(false);
            }
        }))).ConfigureAwait(false);
        return report;
    }

    private static async Task OneAsync(HttpClient http, string body, bool disconnect, LoadReport report)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            report.Count(response.StatusCode);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return;
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line == "data: [DONE]")
                {
                    Interlocked.Increment(ref report.Completed);
                    return;
                }

                if (line.Contains("\"content\":\"", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref report.ContentChunks);
                    if (disconnect)
                    {
                        // Disposing the response mid-stream closes the connection: the server sees the request aborted.
                        Interlocked.Increment(ref report.Disconnected);
                        return;
                    }
                }
            }

            Interlocked.Increment(ref report.Truncated);
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref report.TransportErrors);
        }
    }
}

/// <summary>What the clients of a <see cref="ServingLoad"/> run saw.</summary>
internal sealed class LoadReport
{
    public int Requests;
    public int Ok;
    public int Status4xx;
    public int Status5xx;
    public int Completed;
    public int Disconnected;
    public int Truncated;
    public int TransportErrors;
    public long ContentChunks;

    public void Count(HttpStatusCode status)
    {
        Interlocked.Increment(ref Requests);
        var code = (int)status;
        if (code >= 500)
        {
            Interlocked.Increment(ref Status5xx);
        }
        else if (code >= 400)
        {
            Interlocked.Increment(ref Status4xx);
        }
        else
        {
            Interlocked.Increment(ref Ok);
        }
    }

    public override string ToString()
        => $"{Requests} requests: {Ok} ok ({Completed} completed, {Disconnected} disconnected mid-stream, {Truncated} cut short), {Status4xx} 4xx, {Status5xx} 5xx, {TransportErrors} transport errors, {ContentChunks} content chunks";
}
