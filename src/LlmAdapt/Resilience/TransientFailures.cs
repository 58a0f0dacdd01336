using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Reflection;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace LlmAdapt.Resilience;

/// <summary>The built-in rules for which failures are transient and what delay a server asked for.</summary>
internal static class TransientFailures
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo?> s_statusProperties = new();

    /// <summary>
    /// HTTP 408, 429 and 5xx; network errors (<see cref="HttpRequestException"/> without a status); attempt timeouts;
    /// <see cref="TimeoutException"/>; a cancellation that the caller did not ask for (an HTTP client's own timeout);
    /// <see cref="TransientModelException"/>; and SDK exceptions that expose an integer <c>Status</c> in those ranges
    /// (as OpenAI's and Azure's clients do).
    /// </summary>
    public static bool IsTransient(Exception exception, CancellationToken callerToken)
    {
        switch (exception)
        {
            case BrokenCircuitException or RateLimiterRejectedException:
                return false;
            case TimeoutRejectedException or TimeoutException or TransientModelException:
                return true;
            case OperationCanceledException:
                return !callerToken.IsCancellationRequested && exception.InnerException is TimeoutException;
            case HttpRequestException http:
                return http.StatusCode is null || IsTransientStatus((int)http.StatusCode.Value);
        }

        var status = StatusOf(exception);
        return status is int code && IsTransientStatus(code);
    }

    public static bool IsTransientStatus(int status) => status is (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests or >= 500 and <= 599;

    /// <summary>Reads a requested delay from <see cref="TransientModelException.RetryAfter"/> or <c>Data["Retry-After"]</c> (a <see cref="TimeSpan"/>, seconds, or an HTTP date).</summary>
    public static TimeSpan? RetryAfterOf(Exception exception, TimeProvider time)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is TransientModelException { RetryAfter: { } after })
            {
                return after;
            }

            if (e.Data.Contains("Retry-After"))
            {
                switch (e.Data["Retry-After"])
                {
                    case TimeSpan span:
                        return span;
                    case int seconds:
                        return TimeSpan.FromSeconds(seconds);
                    case double seconds:
                        return TimeSpan.FromSeconds(seconds);
                    case string text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds):
                        return TimeSpan.FromSeconds(seconds);
                    case string text when DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date):
                        var wait = date - time.GetUtcNow();
                        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
                }
            }
        }

        return null;
    }

    private static int? StatusOf(Exception exception)
    {
        var property = s_statusProperties.GetOrAdd(exception.GetType(), static type =>
        {
            var p = type.GetProperty("Status", BindingFlags.Public | BindingFlags.Instance);
            return p?.PropertyType == typeof(int) ? p : null;
        });
        return property?.GetValue(exception) as int?;
    }
}
