using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.RateLimiting;
using LlmAdapt.Hosting.Protocol;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Hosting;

/// <summary>
/// What every endpoint shares: the options, the API-key check, the concurrency slots, body reading with its cap, and
/// the mapping of failures to OpenAI's error shape. One per host.
/// </summary>
internal sealed partial class OpenAIServer : IDisposable
{
    private static readonly byte[] s_dataPrefix = "data: "u8.ToArray();
    private static readonly byte[] s_eventEnd = "\n\n"u8.ToArray();
    private readonly byte[][] _keyHashes;
    private readonly ConcurrencyLimiter _slots;
    private readonly ILogger _logger;

    public OpenAIServer(IOptions<OpenAIServerOptions> options, ILogger<OpenAIServer> logger, TimeProvider? timeProvider = null)
    {
        Options = options.Value;
        _logger = logger;
        TimeProvider = timeProvider ?? TimeProvider.System;
        StartedAt = TimeProvider.GetUtcNow();

        // Hashing first makes every comparison the same length, so neither the content nor the length of a key leaks.
        _keyHashes = [.. Options.ApiKeys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];
        _slots = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Options.MaxConcurrentRequests,
            QueueLimit = Options.MaxQueuedRequests,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    public OpenAIServerOptions Options { get; }

    public TimeProvider TimeProvider { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>Gets how many requests hold a slot now (for tests and health checks: zero when idle).</summary>
    public long BusySlots => Options.MaxConcurrentRequests - (_slots.GetStatistics()?.CurrentAvailablePermits ?? Options.MaxConcurrentRequests);

    public long UnixNow => TimeProvider.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>
    /// Runs <paramref name="handler"/> after the key check and, for a model operation (<paramref name="operation"/> not
    /// <see langword="null"/>), inside a slot and timed on <c>gen_ai.server.request.duration</c>; failures become OpenAI errors.
    /// </summary>
    public async Task InvokeAsync(HttpContext http, string? operation, Func<HttpContext, ServedRequest, Task> handler)
    {
        var served = new ServedRequest(operation ?? "models");
        string? errorType = null;
        try
        {
            Authorize(http.Request);
            if (operation is null)
            {
                await handler(http, served).ConfigureAwait(false);
                return;
            }

            using var lease = await _slots.AcquireAsync(1, http.RequestAborted).ConfigureAwait(false);
            if (!lease.IsAcquired)
            {
                http.Response.Headers.RetryAfter = Options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                throw new OpenAIRequestException(429, "The server is busy: every slot and queue place is taken. Retry after the time in Retry-After.", code: "rate_limit_exceeded", type: "requests");
            }

            await handler(http, served).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            errorType = "cancelled";
            LogAborted(_logger, http.Request.Path);
        }
        catch (Exception ex) when (Map(ex) is { } error)
        {
            errorType = error.Status.ToString(CultureInfo.InvariantCulture);
            if (error.Status >= 500)
            {
                LogFailed(_logger, http.Request.Path, ex);
            }

            if (!http.Response.HasStarted)
            {
                await WriteErrorAsync(http.Response, error).ConfigureAwait(false);
            }
            else
            {
                // A stream already under way ends with an error event, as vLLM and OpenAI do.
                await WriteEventAsync(http.Response, ToBody(error), OpenAIJsonContext.Default.ErrorResponse, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            if (operation is not null)
            {
                ServerMetrics.RecordRequest(operation, served.Model, Stopwatch.GetElapsedTime(served.Started), errorType);
            }
        }
    }

    /// <summary>Reads the JSON body, refusing one over <see cref="OpenAIServerOptions.MaxRequestBodyBytes"/> with 413.</summary>
    public async Task<T> ReadBodyAsync<T>(HttpContext http, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (http.Request.ContentLength > Options.MaxRequestBodyBytes)
        {
            throw TooLarge();
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = Options.MaxRequestBodyBytes;
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(http.Request.Body, typeInfo, http.RequestAborted).ConfigureAwait(false)
                ?? throw new OpenAIRequestException(400, "The request body is JSON null; an object is expected.");
        }
        catch (JsonException ex)
        {
            throw new OpenAIRequestException(400, $"We could not parse the JSON body of your request: {ex.Message}", code: "invalid_json");
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge();
        }
    }

    public static async Task WriteJsonAsync<T>(HttpResponse response, int status, T value, JsonTypeInfo<T> typeInfo)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(response.Body, value, typeInfo, response.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Starts a server-sent event stream: no buffering, so each event leaves when it is written.</summary>
    public static void StartEventStream(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    public static async Task WriteEventAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        await response.Body.WriteAsync(s_dataPrefix, cancellationToken).ConfigureAwait(false);
        await response.Body.WriteAsync(json, cancellationToken).ConfigureAwait(false);
        await response.Body.WriteAsync(s_eventEnd, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task WriteDoneAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _slots.Dispose();

    private static OpenAIRequestException TooLarge() => new(413, "The request body is larger than this server accepts.", code: "request_too_large");

    private static OpenAIRequestException? Map(Exception ex) => ex switch
    {
        OpenAIRequestException e => e,
        TokenBudgetExceededException e => new OpenAIRequestException(400, e.Message, "messages", "context_length_exceeded"),
        BadHttpRequestException e => new OpenAIRequestException(e.StatusCode, e.Message),
        NotSupportedException e => new OpenAIRequestException(400, e.Message, code: "unsupported_parameter"),
        LlmAdaptException e => new OpenAIRequestException(400, e.Message),
        ArgumentException e => new OpenAIRequestException(400, e.Message, e.ParamName),
        OperationCanceledException => null,
        _ => new OpenAIRequestException(500, "The server had an error while processing your request.", type: "server_error"),
    };

    private static ErrorResponse ToBody(OpenAIRequestException error)
        => new() { Error = new ErrorDto { Message = error.Message, Type = error.Type, Param = error.Param, Code = error.Code } };

    private static Task WriteErrorAsync(HttpResponse response, OpenAIRequestException error)
        => WriteJsonAsync(response, error.Status, ToBody(error), OpenAIJsonContext.Default.ErrorResponse);

    private void Authorize(HttpRequest request)
    {
        if (_keyHashes.Length == 0)
        {
            return;
        }

        var header = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new OpenAIRequestException(401, "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.", code: "invalid_api_key");
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
        var match = false;
        foreach (var hash in _keyHashes)
        {
            match |= CryptographicOperations.FixedTimeEquals(presented, hash);
        }

        if (!match)
        {
            throw new OpenAIRequestException(401, "Incorrect API key provided.", code: "invalid_api_key");
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The client left {Path} before the answer was complete; generation was cancelled.")]
    private static partial void LogAborted(ILogger logger, PathString path);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path} failed.")]
    private static partial void LogFailed(ILogger logger, PathString path, Exception exception);
}
