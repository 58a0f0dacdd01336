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

    // One 128-byte block of longs per thread slot (0: the caller, h: helper h), then one for the caller's own state; a
    // helper learns of a job, and of everything it needs to run it, from one cache line written by the caller.
    private readonly PinnedBuffer<long> _lineBuffer;
    private readonly long* _lines;
    private ExceptionDispatchInfo? _error;
    private int _live;
    private int _sleeping;
    private bool _disposed;

    [ThreadStatic]
    private static Workers? t_running;

    /// <summary>Initializes a new instance for up to <paramref name="threads"/> threads (0 or less: every core), the caller included.</summary>
    public Workers(int threads)
    {
        Count = threads > 0 ? threads : Environment.ProcessorCount;
        _numbers = new bool[Count];
        _lineBuffer = new PinnedBuffer<long>((Count + 1) * Line);
        _lines = _lineBuffer.Pointer;
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

        ref var busy = ref _lines[(Count * Line) + Busy];
        if (count == 1 || Count == 1 || t_running is not null || Interlocked.Exchange(ref busy, 1) != 0)
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
            Volatile.Write(ref busy, 0);
            throw new ObjectDisposedException(nameof(Workers));
        }

        if (Volatile.Read(ref _live) < Count - 1)
        {
            StartHelpers();
        }

        AvoidCallerCore();
        // Cleared only when set: an unconditional write every call could dirty the cache line that holds _disposed and
        // _sleeping, which spinning helpers read.
        if (_error is not null)
        {
            _error = null;
        }

        ref var jobs = ref _lines[(Count * Line) + Jobs];
        jobs = jobs == int.MaxValue ? 1 : jobs + 1;
        var job = jobs;
        var first = count >= Count;
        var bodyPointer = Unsafe.AsPointer(ref body);
        delegate*<void*, int, void> invoke = &Invoke<TBody>;
        Publish(job, count, bodyPointer, invoke, first);

        // Without a fence here a helper going to sleep just now can be missed: it then sits this job out (the caller
        // claims its pieces) and is pulsed by the next call.
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
            long ran = 0;
            if (first)
            {
                // Piece 0, claimed for the caller when the job was published.
                RunPiece(invoke, bodyPointer, 0);
                ran++;
            }

            ran += Work(job, 0);
            var spin = default(SpinWait);
            while (ran + HelpersDone() < count)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally
        {
            t_running = null;
            Volatile.Write(ref busy, 0);
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

    /// <summary>The spacing of the slots in <see cref="_lines"/>, in longs: 128 bytes, so no two slots share a cache line or an adjacent-line prefetch pair.</summary>
    private const int Line = 16;

    // A slot's fields: its share's claim word (the job in the high 32 bits, 0 while the slot is being rewritten; the
    // share's next unclaimed piece in the low 32), one past the share's last piece, the body and its invoker, and the
    // pieces the slot's thread has finished in this job.
    private const int Claim = 0;
    private const int End = 1;
    private const int Body = 2;
    private const int Invoker = 3;
    private const int Done = 4;

    // The caller's block: whether a call is in progress, and the last job's number (1 … int.MaxValue, then 1 again).
    private const int Busy = 0;
    private const int Jobs = 1;

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
    /// Writes job <paramref name="job"/> into every slot: first each claim word to 0, so a thread still looking at the
    /// last job can claim nothing of this one, then the share bounds, body and invoker, then the claim words (the
    /// caller's last, with piece 0 already claimed when <paramref name="first"/>). A helper's slot is one cache line, so
    /// it learns of the job and reads all of it in one transfer from the caller's core.
    /// </summary>
    private void Publish(long job, int count, void* body, delegate*<void*, int, void> invoke, bool first)
    {
        for (var slot = 0; slot < Count; slot++)
        {
            Volatile.Write(ref _lines[(slot * Line) + Claim], 0);
        }

        for (var slot = 0; slot < Count; slot++)
        {
            // The end as a release write, so on a weakly ordered CPU too it is never seen before the zeroed claim word.
            var line = _lines + (slot * Line);
            Volatile.Write(ref line[End], (slot + 1) * (long)count / Count);
            line[Body] = (long)body;
            line[Invoker] = (long)invoke;
            line[Done] = 0;
        }

        for (var slot = Count - 1; slot >= 0; slot--)
        {
            var start = (slot * (long)count / Count) + (slot == 0 && first ? 1 : 0);
            Volatile.Write(ref _lines[(slot * Line) + Claim], (job << 32) | start);
        }
    }

    /// <summary>Gets the pieces the helpers have finished in the current job.</summary>
    private long HelpersDone()
    {
        long done = 0;
        for (var slot = 1; slot < Count; slot++)
        {
            done += Volatile.Read(ref _lines[(slot * Line) + Done]);
        }

        return done;
    }

    /// <summary>Runs one piece; an exception is kept for the caller to throw (the first one, if several).</summary>
    private void RunPiece(delegate*<void*, int, void> invoke, void* body, int index)
    {
        try
        {
            invoke(body, index);
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                _error ??= ExceptionDispatchInfo.Capture(ex);
            }
        }
    }

    /// <summary>
    /// Claims and runs pieces of job <paramref name="job"/> until none is left or the job has moved on: first those of
    /// the share of <paramref name="slot"/> (0: the caller, h: helper h), then, from the next share on, any another
    /// thread has not claimed yet; returns how many it ran. A helper counts them in its slot as it goes. A call
    /// repeated with the same pieces (a training step's products) so tends to run each piece on the core that ran it
    /// last time, where its rows of C were last written, rather than on whichever thread claimed first. Measured on
    /// two Zen 5 cores, the same model stepping with one shared claim counter and with home shares in turn: the
    /// 4-layer GPT-2 rank-8 LoRA step 0.90–0.95 × the time, the full step 0.97–0.99 ×, the SmolLM2-135M LoRA step
    /// 0.98 ×.
    /// </summary>
    private long Work(long job, int slot)
    {
        var own = _lines + (slot * Line);
        var body = (void*)own[Body];
        var invoke = (delegate*<void*, int, void>)own[Invoker];
        long ran = 0;
        for (var i = 0; i < Count; i++)
        {
            var share = slot + i < Count ? slot + i : slot + i - Count;
            ref var claim = ref _lines[(share * Line) + Claim];
            while (true)
            {
                var state = Volatile.Read(ref claim);
                if (state >> 32 != job)
                {
                    return ran;
                }

                // Read after the claim word: a newer end than that word's job is only seen once the word has been
                // zeroed, so the exchange below then fails.
                if ((uint)state >= Volatile.Read(ref _lines[(share * Line) + End]))
                {
                    break;
                }

                if (Interlocked.CompareExchange(ref claim, state + 1, state) != state)
                {
                    continue;
                }

                // Claimed: the job cannot finish before this piece does, so its body stays as read.
                RunPiece(invoke, body, (int)(uint)state);
                ran++;
                if (slot != 0)
                {
                    Volatile.Write(ref own[Done], ran);
                }
            }
        }

        return ran;
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
        ref var claim = ref _lines[(number * Line) + Claim];
        long seen = 0;
        while (true)
        {
            // Watch this slot's claim word for the next job for SpinTicks, then block. Pinned, the watch is a plain
            // read loop: no PAUSE instruction and no yield (SpinWait issues both), so the scheduler sees this core busy
            // and keeps the calling thread on another (see CoreAffinity); a pinned helper watching through SpinWait
            // found the caller moved onto its own core in 7 of 8 runs (about 500 µs a job where 252 is the two-core
            // time). Unpinned (more threads than cores, or no affinity), it may share the caller's core, so it yields
            // as it spins. A job number of 0 is a slot being rewritten.
            var start = Stopwatch.GetTimestamp();
            var spinner = default(SpinWait);
            long job;
            while (((job = Volatile.Read(ref claim) >> 32) == seen || job == 0) && Stopwatch.GetTimestamp() - start < SpinTicks && !Volatile.Read(ref _disposed))
            {
                if (!pinned)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                }
            }

            if (job == seen || job == 0)
            {
                // Block: announce first, then look again, so a job opened in between is either seen here or pulsed.
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleeping);
                    var woken = true;
                    while (!_disposed && ((job = Volatile.Read(ref claim) >> 32) == seen || job == 0) && woken)
                    {
                        woken = Monitor.Wait(_gate, IdleTimeout);
                    }

                    Interlocked.Decrement(ref _sleeping);
                    if (_disposed || job == seen || job == 0)
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
