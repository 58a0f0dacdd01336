using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace LlmAdapt.Training.Kernels;

/// <summary>One index's work of a <see cref="Workers.For{TBody}(int, ref TBody)"/> call.</summary>
internal interface IWorkItem
{
    /// <summary>Does the work of piece <paramref name="index"/>.</summary>
    void Run(int index);
}

/// <summary>
/// The threads one model's kernels share out their pieces to (MLAS's way, not the .NET thread pool's): up to
/// <see cref="Count"/> − 1 dedicated helper threads, each pinned on Linux to a core of its own
/// (<see cref="CoreAffinity"/>), that after each job spin for <see cref="SpinTicks"/> watching for the next one before
/// they block, so a multiply of a few hundred microseconds finds its helper awake instead of paying a wake-up per
/// call. Each model (and each optimiser) owns its own instance; there is no process-wide setting, so two trainers in
/// one process do not change each other's thread counts (their helpers are pinned alike: helper 1 of each on the last
/// core).
/// <para>The calling thread works too. The pieces are cut into one contiguous share per thread (the caller's first);
/// each thread claims from its own share, then from the others' (see <see cref="Work"/>), so the caller waits only for
/// pieces already claimed, never for a helper that has not started, and on a busy machine a call slows to one core's
/// speed rather than stalling. Helpers start on the first parallel call, end after <see cref="IdleTimeout"/> without work
/// (the next call starts them again) and on <see cref="Dispose"/>. A call allocates nothing: the body is a struct on
/// the caller's stack, reached through a pointer for the duration of the call. Calls on one instance are not meant to
/// overlap (a model runs one forward or backward at a time): one that comes while another is in progress, or from inside a
/// body, runs on its calling thread alone.</para>
/// </summary>
internal sealed unsafe class Workers : IDisposable
{
    /// <summary>How long a helper spins for the next job after finishing one before it blocks (about 200 µs).</summary>
    internal static readonly long SpinTicks = Stopwatch.Frequency / 5000;

    /// <summary>How long a blocked helper waits for work before its thread ends.</summary>
    internal static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(2);

    private readonly object _gate = new();

    // Job state: the high 32 bits count jobs (odd while one is open, even when closed); helpers watch it for the next job.
    private long _state;

    // Each thread's share of the pieces (slot 0 the caller's, slot h helper h's), one cache line apart: at
    // _shares[slot · SharePad] the high 32 bits name the job, the low 32 the share's next unclaimed piece; _ends[slot]
    // is one past its last piece.
    private readonly long[] _shares;
    private readonly int[] _ends;
    private int _done;
    private void* _body;
    private delegate*<void*, int, void> _invoke;
    private ExceptionDispatchInfo? _error;
    private int _live;
    private int _busy;
    private int _sleeping;
    private bool _disposed;

    [ThreadStatic]
    private static Workers? t_running;

    /// <summary>Initializes a new instance for up to <paramref name="threads"/> threads (0 or less: every core), the caller included.</summary>
    public Workers(int threads)
    {
        Count = threads > 0 ? threads : Environment.ProcessorCount;
        _numbers = new bool[Count];
        _shares = new long[Count * SharePad];
        _ends = new int[Count];
        _helperThreads = new int[Count];
        _helperCores = new int[Count];
        _helperCores.AsSpan().Fill(-1);
    }

    /// <summary>Gets the most threads a call uses, the caller included.</summary>
    public int Count { get; }

    /// <summary>
    /// Returns <paramref name="current"/> when it runs <paramref name="threads"/> threads (0 or less: every core),
    /// else disposes it and stores a new instance in it: how an owner (a model, an optimiser) follows its thread setting.
    /// </summary>
    public static Workers Follow(ref Workers? current, int threads)
    {
        var count = threads > 0 ? threads : Environment.ProcessorCount;
        if (current is { } existing && existing.Count == count && !existing._disposed)
        {
            return existing;
        }

        current?.Dispose();
        return current = new Workers(count);
    }

    /// <summary>
    /// Gets the fewest multiply-adds a matrix product must have to be shared out (2¹⁹ by default, measured: below it a
    /// helper's hand-over costs more than half the product saves); tests set 0 to send tiny products down the threaded path.
    /// </summary>
    public long MinParallelWork { get; init; } = 1 << 19;

    /// <summary>Gets the helper threads alive now (0 after <see cref="Dispose"/>).</summary>
    public int LiveHelpers => Volatile.Read(ref _live);

    /// <summary>Gets how many helper threads this instance has started in all (they end when idle and start again).</summary>
    public int HelpersStarted { get; private set; }

    /// <summary>Calls <paramref name="body"/>.Run(i) for i in 0 … <paramref name="count"/> − 1, on up to <see cref="Count"/> threads.</summary>
    public void For<TBody>(int count, ref TBody body)
        where TBody : struct, IWorkItem
    {
        if (count <= 0)
        {
            return;
        }

        if (count == 1 || Count == 1 || t_running is not null || Interlocked.Exchange(ref _busy, 1) != 0)
        {
            // One piece, one thread, a call from inside a body, or another thread's call in progress: run here.
            for (var i = 0; i < count; i++)
            {
                body.Run(i);
            }

            return;
        }

        if (Volatile.Read(ref _disposed))
        {
            Volatile.Write(ref _busy, 0);
            throw new ObjectDisposedException(nameof(Workers));
        }

        if (Volatile.Read(ref _live) < Count - 1)
        {
            StartHelpers();
        }

        AvoidCallerCore();
        _done = 0;
        _error = null;
        _body = Unsafe.AsPointer(ref body);
        _invoke = &Invoke<TBody>;
        var job = (Volatile.Read(ref _state) >> 32) + 1;

        // Shares before their ends: a helper still looking at the last job finds its tag gone before it could read an
        // end of this one, so its claim fails (see Work).
        for (var slot = 0; slot < Count; slot++)
        {
            Volatile.Write(ref _shares[slot * SharePad], (job << 32) | (uint)(slot * (long)count / Count));
        }

        for (var slot = 0; slot < Count; slot++)
        {
            Volatile.Write(ref _ends[slot], (int)((slot + 1) * (long)count / Count));
        }

        Interlocked.Exchange(ref _state, job << 32);
        if (Volatile.Read(ref _sleeping) > 0)
        {
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        }

        t_running = this;
        try
        {
            Work(job, 0);
            var spin = default(SpinWait);
            while (Volatile.Read(ref _done) < count)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally
        {
            t_running = null;

            // Closed (even), and every share retagged: a helper that read the old state can no longer claim a piece
            // of this job.
            for (var slot = 0; slot < Count; slot++)
            {
                Volatile.Write(ref _shares[slot * SharePad], (job + 1) << 32);
            }

            Interlocked.Exchange(ref _state, (job + 1) << 32);
            _body = null;
            Volatile.Write(ref _busy, 0);
        }

        _error?.Throw();
    }

    /// <summary>
    /// Calls <paramref name="body"/>(<paramref name="state"/>, i) for i in 0 … <paramref name="count"/> − 1 on
    /// <paramref name="workers"/>, or on the calling thread when that is null. With a <see langword="static"/> lambda
    /// (its state passed in, nothing captured) the call allocates nothing.
    /// </summary>
    public static void Run<TState>(Workers? workers, int count, TState state, Action<TState, int> body)
    {
        var item = new StateItem<TState>(state, body);
        Run(workers, count, ref item);
    }

    /// <summary>Runs <paramref name="item"/> for 0 … <paramref name="count"/> − 1 on <paramref name="workers"/>, or here when that is null.</summary>
    public static void Run<TItem>(Workers? workers, int count, ref TItem item)
        where TItem : struct, IWorkItem
    {
        if (workers is null)
        {
            for (var i = 0; i < count; i++)
            {
                item.Run(i);
            }

            return;
        }

        workers.For(count, ref item);
    }

    /// <summary>Stops the helpers (each finishes the piece it is on) and waits for their threads to end.</summary>
    public void Dispose()
    {
        Thread[] helpers;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            helpers = [.. _threads];
            _threads.Clear();
            Monitor.PulseAll(_gate);
        }

        foreach (var helper in helpers)
        {
            if (helper != Thread.CurrentThread)
            {
                helper.Join();
            }
        }
    }

    /// <summary>The spacing of <see cref="_shares"/>, in longs: one 64-byte cache line per share.</summary>
    private const int SharePad = 8;

    private readonly List<Thread> _threads = [];

    /// <summary>Which helper numbers (1 … Count − 1) live helpers hold; guarded by the gate.</summary>
    private readonly bool[] _numbers;

    /// <summary>Each helper's kernel thread id, by number.</summary>
    private readonly int[] _helperThreads;

    /// <summary>The core each helper is pinned to, by number (−1: none, or not pinned).</summary>
    private readonly int[] _helperCores;

    /// <summary>Moves a pinned helper that the calling thread now shares a core with to a core of its own (see <see cref="CoreAffinity"/>).</summary>
    private void AvoidCallerCore()
    {
        var cores = _helperCores;
        var here = -1;
        for (var h = 1; h < cores.Length; h++)
        {
            var core = Volatile.Read(ref cores[h]);
            if (core < 0)
            {
                continue;
            }

            if (here < 0)
            {
                here = CoreAffinity.CurrentCore();
            }

            if (core == here)
            {
                var moved = CoreAffinity.Move(_helperThreads[h], here, cores);
                if (moved >= 0)
                {
                    Volatile.Write(ref cores[h], moved);
                }
            }
        }
    }

    private static void Invoke<TBody>(void* body, int index)
        where TBody : struct, IWorkItem
        => Unsafe.AsRef<TBody>(body).Run(index);

    private void StartHelpers()
    {
        lock (_gate)
        {
            _threads.RemoveAll(t => !t.IsAlive);
            while (!_disposed && _live < Count - 1)
            {
                _live++;
                HelpersStarted++;

                // The lowest helper number no live helper holds (a helper's number chooses its core).
                var number = Array.IndexOf(_numbers, false, 1);
                _numbers[number] = true;
                var thread = new Thread(Help) { IsBackground = true, Name = "LlmAdapt kernel helper" };
                _threads.Add(thread);
                thread.UnsafeStart(number);
            }
        }
    }

    /// <summary>
    /// Claims and runs pieces of job <paramref name="job"/> (odd) until none is left or the job has moved on: first
    /// those of the share of <paramref name="slot"/> (0: the caller, h: helper h), then, from the next share on, any
    /// another thread has not claimed yet. A call repeated with the same pieces (a training step's products) so tends
    /// to run each piece on the core that ran it last time, where its rows of C were last written, rather than on
    /// whichever thread claimed first. Measured on two Zen 5 cores, the same model stepping with one shared claim
    /// counter and with home shares in turn: the 4-layer GPT-2 rank-8 LoRA step 0.90–0.95 × the time, the full step
    /// 0.97–0.99 ×, the SmolLM2-135M LoRA step 0.98 ×.
    /// </summary>
    private void Work(long job, int slot)
    {
        for (var i = 0; i < Count; i++)
        {
            var share = slot + i < Count ? slot + i : slot + i - Count;
            ref var next = ref _shares[share * SharePad];
            while (true)
            {
                var state = Volatile.Read(ref next);
                if (state >> 32 != job)
                {
                    return;
                }

                if ((int)state >= Volatile.Read(ref _ends[share]))
                {
                    break;
                }

                if (Interlocked.CompareExchange(ref next, state + 1, state) != state)
                {
                    continue;
                }

                // Claimed: the job cannot finish before this piece does, so its body and count stay as read.
                try
                {
                    _invoke(_body, (int)state);
                }
                catch (Exception ex)
                {
                    lock (_gate)
                    {
                        _error ??= ExceptionDispatchInfo.Capture(ex);
                    }
                }
                finally
                {
                    Interlocked.Increment(ref _done);
                }
            }
        }
    }

    /// <summary>A helper's life: run each open job's pieces, spin briefly for the next, block, end when idle or disposed.</summary>
    private void Help(object? helper)
    {
        t_running = this;
        var number = (int)helper!;
        var core = CoreAffinity.PinHelper(number, Count);
        var pinned = core >= 0;
        _helperThreads[number] = CoreAffinity.CurrentThreadId();
        Volatile.Write(ref _helperCores[number], core);
        long seen = 0;
        while (true)
        {
            // Watch for the next job for SpinTicks, then block. Pinned, the watch is a plain read loop: no PAUSE
            // instruction and no yield (SpinWait issues both), so the scheduler sees this core busy and keeps the
            // calling thread on another (see CoreAffinity); a pinned helper watching through SpinWait found the caller
            // moved onto its own core in 7 of 8 runs (about 500 µs a job where 252 is the two-core time). Unpinned
            // (more threads than cores, or no affinity), it may share the caller's core, so it yields as it spins.
            var start = Stopwatch.GetTimestamp();
            var spinner = default(SpinWait);
            long job;
            while (((job = Volatile.Read(ref _state) >> 32) == seen || (job & 1) == 0) && Stopwatch.GetTimestamp() - start < SpinTicks && !Volatile.Read(ref _disposed))
            {
                if (!pinned)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                }
            }

            if (job == seen || (job & 1) == 0)
            {
                // Block: announce first, then look again, so a job opened in between is either seen here or pulsed.
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleeping);
                    var woken = true;
                    while (!_disposed && ((job = Volatile.Read(ref _state) >> 32) == seen || (job & 1) == 0) && woken)
                    {
                        woken = Monitor.Wait(_gate, IdleTimeout);
                    }

                    Interlocked.Decrement(ref _sleeping);
                    if (_disposed || job == seen || (job & 1) == 0)
                    {
                        // Disposed, or idle for the whole timeout: the next parallel call starts a new helper.
                        _live--;
                        _numbers[number] = false;
                        Volatile.Write(ref _helperCores[number], -1);
                        return;
                    }
                }
            }

            seen = job;
            Work(job, number);
        }
    }

    private readonly struct StateItem<TState>(TState state, Action<TState, int> body) : IWorkItem
    {
        public void Run(int index) => body(state, index);
    }
}
