using System.Net;
using LlmAdapt.Resilience;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace LlmAdapt.Tests.Resilience;

public sealed class ResilientChatClientTests
{
    private readonly PipelineClock _time = new();

    private readonly List<ModelRetry> _retries = [];

    private LlmAdaptResilienceOptions Options(Action<LlmAdaptResilienceOptions>? change = null)
    {
        var o = new LlmAdaptResilienceOptions
        {
            OnRetry = r =>
            {
                lock (_retries)
                {
                    _retries.Add(r);
                }
            },
            MaxRetryAttempts = 3,
            BaseDelay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(30),
            UseJitter = false,
            AttemptTimeout = TimeSpan.FromSeconds(10),
            TotalTimeout = TimeSpan.FromMinutes(5),
            EnableCircuitBreaker = false,
        };
        change?.Invoke(o);
        return o;
    }

    /// <summary>
    /// Runs the call to its end in fake time, deterministically: whenever the pipeline waits (it registered a backoff
    /// delay, or an attempt hangs on the model), fake time advances in 100 ms steps until the next timer fires (the
    /// delay, an attempt timeout or the total timeout); then the driver waits for the pipeline to wait again, since
    /// what a timer wakes can continue on the thread pool. Time never moves while the pipeline is working, and no
    /// real time is measured: the one real-time bound is a guard against a hang.
    /// </summary>
    private async Task<T> Drive<T>(Task<T> task)
    {
        while (true)
        {
            var waiting = _time.PipelineWaits.WaitAsync(TimeSpan.FromMinutes(1));
            if (await Task.WhenAny(task, waiting) == task)
            {
                return await task;
            }

            Assert.True(await waiting, "the call neither finished nor waited on a timer");
            _time.AdvanceUntilATimerFires(TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>A step that hangs until the attempt is cancelled, after telling the driver the pipeline now waits.</summary>
    private Func<CancellationToken, Task<ChatResponse>> Hang() => ct =>
    {
        _time.PipelineWaits.Release();
        return ScriptedChatClient.Hang()(ct);
    };

    /// <summary>
    /// A fake clock that tells when the pipeline waits on it: each delay it creates (a timer that does not belong to a
    /// <see cref="CancellationTokenSource"/>: timeouts are those) releases <see cref="PipelineWaits"/>.
    /// </summary>
    private sealed class PipelineClock() : FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
        private int _fired;

        public SemaphoreSlim PipelineWaits { get; } = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(s =>
            {
                Interlocked.Increment(ref _fired);
                callback(s);
            }, state, dueTime, period);
            if (callback.Method.DeclaringType != typeof(CancellationTokenSource))
            {
                PipelineWaits.Release();
            }

            return timer;
        }

        /// <summary>Advances in steps until a timer has fired (its callback runs inside <see cref="FakeTimeProvider.Advance"/>).</summary>
        public void AdvanceUntilATimerFires(TimeSpan step)
        {
            var fired = Volatile.Read(ref _fired);
            for (var i = 0; i < 100_000 && Volatile.Read(ref _fired) == fired; i++)
            {
                Advance(step);
            }

            Assert.True(Volatile.Read(ref _fired) != fired, "no timer fired in 10,000 s of fake time");
        }
    }

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.RequestTimeout)]
    [InlineData(HttpStatusCode.InternalServerError)]
    public async Task TransientFailures_AreRecoveredWithinRetryBudget(HttpStatusCode status)
    {
        var inner = new ScriptedChatClient(_time,
            ScriptedChatClient.Throw(new HttpRequestException("boom", null, status)),
            ScriptedChatClient.Throw(new HttpRequestException("network down")),
            ScriptedChatClient.Ok("recovered"));
        using var client = new ResilientChatClient(inner, Options(), _time);

        var response = await Drive(client.GetResponseAsync("hi"));

        Assert.Equal("recovered", response.Text);
        Assert.Equal(3, inner.Calls.Count);
        // Exponential backoff without jitter: 1 s, then 2 s, and the model was not called before the delay ran out.
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)], _retries.Select(r => r.Delay));
        Assert.True(inner.Calls[1].Time - inner.Calls[0].Time >= TimeSpan.FromSeconds(1));
        Assert.True(inner.Calls[2].Time - inner.Calls[1].Time >= TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task TransientFailures_BeyondRetryBudget_SurfaceTheLastError()
    {
        var inner = new ScriptedChatClient(_time, ScriptedChatClient.Throw(new HttpRequestException("busy", null, HttpStatusCode.BadGateway)));
        using var client = new ResilientChatClient(inner, Options(o => o.MaxRetryAttempts = 2), _time);

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => Drive(client.GetResponseAsync("hi")));
        Assert.Equal(HttpStatusCode.BadGateway, ex.StatusCode);
        Assert.Equal(3, inner.Calls.Count);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.NotFound)]
    public async Task NonTransientFailures_SurfaceAtOnce(HttpStatusCode status)
    {
        var inner = new ScriptedChatClient(_time, ScriptedChatClient.Throw(new HttpRequestException("no", null, status)), ScriptedChatClient.Ok());
        using var client = new ResilientChatClient(inner, Options(), _time);

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetResponseAsync("hi"));
        Assert.Equal(status, ex.StatusCode);
        Assert.Single(inner.Calls);
    }

    [Fact]
    public async Task NonTransientException_IsNotRetried()
    {
        var inner = new ScriptedChatClient(_time, ScriptedChatClient.Throw(new InvalidOperationException("bug")), ScriptedChatClient.Ok());
        using var client = new ResilientChatClient(inner, Options(), _time);
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetResponseAsync("hi"));
        Assert.Single(inner.Calls);
    }

    [Fact]
    public async Task RetryAfter_IsHonouredOverBackoff()
    {
        var throttled = new TransientModelException("slow down", TimeSpan.FromSeconds(7));
        var dataThrottled = new HttpRequestException("429", null, HttpStatusCode.TooManyRequests);
        dataThrottled.Data["Retry-After"] = "4";
        var inner = new ScriptedChatClient(_time, ScriptedChatClient.Throw(throttled), ScriptedChatClient.Throw(dataThrottled), ScriptedChatClient.Ok());
        using var client = new ResilientChatClient(inner, Options(), _time);

        await Drive(client.GetResponseAsync("hi"));

        Assert.Equal([TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(4)], _retries.Select(r => r.Delay));
        Assert.True(inner.Calls[1].Time - inner.Calls[0].Time >= TimeSpan.FromSeconds(7));
        Assert.True(inner.Calls[2].Time - inner.Calls[1].Time >= TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Jitter_UsesInjectedRandomness_AndStaysNearTheBackoff()
    {
        var inner = new ScriptedChatClient(_time, ScriptedChatClient.Throw(new TimeoutException()), ScriptedChatClient.Throw(new TimeoutException()), ScriptedChatClient.Ok());
        using var client = new ResilientChatClient(inner, Options(o => { o.UseJitter = true; o.Randomizer = () => 0.5; o.BaseDelay = TimeSpan.FromSeconds(2); }), _time);

        await Drive(client.GetResponseAsync("hi"));

        var first = _retries[0].Delay.TotalSeconds;
        var second = _retries[1].Delay.TotalSeconds;
        Assert.InRange(first, 0.5, 4.5);
        Assert.True(second > first, $"backoff should grow: {first} then {second}");

        // Pinned: with the draw fixed at 0.5, Polly's decorrelated jitter gives these (2 s and 4 s without jitter; other
        // values if the injected randomness were not used).
        Assert.Equal(1.7948098, first, 6);
        Assert.Equal(2.186007, second, 6);
    }

    [Fact]
    public async Task AttemptTimeout_IsRetried_ThenSucceeds()
    {
        var inner = new ScriptedChatClient(_time, Hang(), ScriptedChatClient.Ok("second try"));
        using var client = new ResilientChatClient(inner, Options(o => o.AttemptTimeout = TimeSpan.FromSeconds(3)), _time);

        var response = await Drive(client.GetResponseAsync("hi"));

        Assert.Equal("second try", response.Text);
        Assert.Equal(2, inner.Calls.Count);
        var retry = Assert.Single(_retries);
        Assert.IsType<TimeoutRejectedException>(retry.Exception);
        Assert.Equal(TimeSpan.FromSeconds(1), retry.Delay);
        Assert.True(inner.Calls[1].Time - inner.Calls[0].Time >= TimeSpan.FromSeconds(4)); // 3 s timeout + 1 s backoff
    }

    [Fact]
    public async Task TotalTimeout_StopsRetrying_AndIsReportedAsTimeout()
    {
        var inner = new ScriptedChatClient(_time, Hang());
        using var client = new ResilientChatClient(inner, Options(o => { o.AttemptTimeout = TimeSpan.FromSeconds(5); o.TotalTimeout = TimeSpan.FromSeconds(8); o.MaxRetryAttempts = 10; }), _time);

        var start = _time.GetUtcNow();
        await Assert.ThrowsAsync<TimeoutRejectedException>(() => Drive(client.GetResponseAsync("hi")));
        // Without the total timeout, ten hanging attempts would take over a minute of (fake) time.
        var elapsed = _time.GetUtcNow() - start;
        Assert.True(elapsed >= TimeSpan.FromSeconds(8) && elapsed < TimeSpan.FromSeconds(20), $"elapsed {elapsed}");
        Assert.InRange(inner.Calls.Count, 1, 2);
    }

    [Fact]
    public async Task CallerCancellation_WinsAtOnce_IsNotRetried_AndIsNotATimeout()
    {
        var inner = new ScriptedChatClient(_time, Hang(), ScriptedChatClient.Ok());
        using var client = new ResilientChatClient(inner, Options(), _time);
        using var cts = new CancellationTokenSource();

        var call = client.GetResponseAsync("hi", cancellationToken: cts.Token);
        await cts.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.IsNotType<TimeoutRejectedException>(ex);
        Assert.Single(inner.Calls);
    }

    [Fact]
    public async Task CallerCancellation_DuringBackoff_StopsAtOnce()
    {
        var inner = new ScriptedChatClient(_time, ScriptedChatClient.Throw(new TimeoutException()), ScriptedChatClient.Ok());
        using var client = new ResilientChatClient(inner, Options(o => { o.BaseDelay = TimeSpan.FromMinutes(1); o.MaxDelay = TimeSpan.FromMinutes(2); }), _time);
        using var cts = new CancellationTokenSource();

        var call = client.GetResponseAsync("hi", cancellationToken: cts.Token);
        await Task.Yield();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Single(inner.Calls);
    }

    [Fact]
    public async Task CircuitBreaker_Opens_HalfOpens_AndCloses()
    {
        var failing = true;
        var inner = new ScriptedChatClient(_time, _ => failing
            ? Task.FromException<ChatResponse>(new HttpRequestException("down", null, HttpStatusCode.ServiceUnavailable))
            : Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "up"))));
        using var client = new ResilientChatClient(inner, Options(o =>
        {
            o.MaxRetryAttempts = 0;
            o.EnableCircuitBreaker = true;
            o.MinimumThroughput = 4;
            o.FailureRatio = 0.5;
            o.SamplingDuration = TimeSpan.FromSeconds(30);
            o.BreakDuration = TimeSpan.FromSeconds(10);
        }), _time);

        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => client.GetResponseAsync("hi"));
        }

        // Open: the model is not called.
        await Assert.ThrowsAsync<BrokenCircuitException>(() => client.GetResponseAsync("hi"));
        Assert.Equal(4, inner.Calls.Count);

        // After the break, one trial call goes through (half-open); its success closes the circuit.
        _time.Advance(TimeSpan.FromSeconds(11));
        failing = false;
        Assert.Equal("up", (await client.GetResponseAsync("hi")).Text);
        Assert.Equal("up", (await client.GetResponseAsync("hi")).Text);
        Assert.Equal(6, inner.Calls.Count);
    }

    [Fact]
    public async Task CircuitBreaker_HalfOpenFailure_OpensAgain()
    {
        var inner = new ScriptedChatClient(_time, ScriptedChatClient.Throw(new HttpRequestException("down", null, HttpStatusCode.ServiceUnavailable)));
        using var client = new ResilientChatClient(inner, Options(o =>
        {
            o.MaxRetryAttempts = 0;
            o.EnableCircuitBreaker = true;
            o.MinimumThroughput = 2;
            o.BreakDuration = TimeSpan.FromSeconds(5);
        }), _time);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetResponseAsync("a"));
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetResponseAsync("b"));
        await Assert.ThrowsAsync<BrokenCircuitException>(() => client.GetResponseAsync("c"));
        _time.Advance(TimeSpan.FromSeconds(6));
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetResponseAsync("trial"));
        await Assert.ThrowsAsync<BrokenCircuitException>(() => client.GetResponseAsync("d"));
        Assert.Equal(3, inner.Calls.Count);
    }

    [Fact]
    public async Task ConcurrencyLimit_HoldsCallsInFlight()
    {
        var inFlight = 0;
        var peak = 0;
        var gate = new TaskCompletionSource();
        var inner = new ScriptedChatClient(_time, async _ =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            await gate.Task;
            Interlocked.Decrement(ref inFlight);
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, "done"));
        });
        using var client = new ResilientChatClient(inner, Options(o => { o.MaxConcurrency = 2; o.ConcurrencyQueueLimit = 10; }), _time);

        var calls = Enumerable.Range(0, 6).Select(i => client.GetResponseAsync($"q{i}")).ToArray();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref inFlight) < 2 && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }

        // Two run at once and the other four wait.
        Assert.Equal(2, Volatile.Read(ref inFlight));
        Assert.Equal(2, inner.Calls.Count);
        gate.SetResult();
        await Task.WhenAll(calls);
        Assert.Equal(6, inner.Calls.Count);
        Assert.Equal(2, peak);
    }

    [Fact]
    public async Task Streaming_RetriesUntilFirstUpdate()
    {
        var inner = new ScriptedChatClient(_time, ScriptedChatClient.Throw(new HttpRequestException("x", null, HttpStatusCode.ServiceUnavailable)), ScriptedChatClient.Ok("streamed"));
        using var client = new ResilientChatClient(inner, Options(o => o.BaseDelay = TimeSpan.Zero), _time);

        var text = string.Empty;
        await foreach (var update in client.GetStreamingResponseAsync("hi"))
        {
            text += update.Text;
        }

        Assert.Equal("streamed", text);
        Assert.Equal(2, inner.Calls.Count);
    }

    [Fact]
    public void InvalidOptions_ListEveryProblem_WithOptionAndRange()
    {
        var options = new LlmAdaptResilienceOptions { MaxRetryAttempts = 99, FailureRatio = 2, BaseDelay = TimeSpan.FromSeconds(10), MaxDelay = TimeSpan.FromSeconds(1) };
        var ex = Assert.Throws<InvalidOptionsException>(() => new ResilientChatClient(new ScriptedChatClient(_time, ScriptedChatClient.Ok()), options, _time));
        Assert.Contains(ex.Problems, p => p.Contains("MaxRetryAttempts", StringComparison.Ordinal) && p.Contains("20", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.Contains("FailureRatio", StringComparison.Ordinal) && p.Contains("0.01", StringComparison.Ordinal));
        Assert.Contains(ex.Problems, p => p.Contains("MaxDelay", StringComparison.Ordinal));
        Assert.Equal(3, ex.Problems.Count);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
