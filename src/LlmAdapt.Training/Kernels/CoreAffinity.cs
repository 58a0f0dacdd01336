using System.Runtime.InteropServices;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// Keeps each <see cref="Workers"/> helper thread on a core of its own (Linux): helper i of a pool of n threads runs
/// on the i-th last of the cores the process may use, and the calling thread, left free, is moved by the scheduler to
/// the core that is left. Without this, Linux often woke a helper on the core of the thread that woke it and left the
/// two there: measured on this project's 2-core VM, in 6 of 8 runs of back-to-back jobs the caller and the helper ran
/// on the same core for whole milliseconds, one of them working at a time (eight 62 µs pieces took 500–790 µs a job
/// instead of 252); pinned, the same jobs took 252–270 µs back to back and 300–410 µs after 150 ms idle.
/// </summary>
/// <remarks>
/// The caller is not pinned, and the scheduler sometimes keeps it on a helper's core for a whole run (in some
/// processes every job found the two on one core); so a job whose caller is on a helper's core first moves that
/// helper to another core (<see cref="Move"/>, one system call, only when they meet). Nothing is pinned when the
/// process may use fewer cores than the pool has threads, off Linux, or when the system call fails: the helper then
/// runs wherever the scheduler puts it, as before. Pools do not know of each other: every
/// pool's helper 1 goes to the same last core, so two models training at the same time share it (their calling threads
/// stay free).
/// </remarks>
internal static unsafe partial class CoreAffinity
{
    /// <summary>The cpu_set_t size passed to the kernel, in bytes (1,024 CPUs, as glibc's).</summary>
    private const int MaskBytes = 128;

    /// <summary>Pins the calling thread, helper <paramref name="helper"/> (1 … <paramref name="threads"/> − 1) of a pool of <paramref name="threads"/>.</summary>
    /// <returns>The core it now runs on, or −1 when it was left unpinned.</returns>
    public static int PinHelper(int helper, int threads)
    {
        if (!OperatingSystem.IsLinux() || !s_libc || helper < 1 || helper >= threads)
        {
            return -1;
        }

        return Guard(() => Pin(helper, threads), -1);
    }

    private static int Pin(int helper, int threads)
    {
        var mask = stackalloc ulong[MaskBytes / sizeof(ulong)];
        if (SchedGetAffinity(0, MaskBytes, mask) != 0 || CountAllowed(mask) < threads)
        {
            return -1;
        }

        // The cores the process may use, as a helper sees them before it pins itself (it inherits them).
        if (s_allowed is null)
        {
            var copy = new ulong[MaskBytes / sizeof(ulong)];
            new ReadOnlySpan<ulong>(mask, copy.Length).CopyTo(copy);
            Interlocked.CompareExchange(ref s_allowed, copy, null);
        }

        // The allowed cores, highest first; helper i takes the i-th of them.
        return PinTo(0, Highest(mask, helper, avoid: -1, taken: []));
    }

    /// <summary>Gets the core the calling thread runs on now (Linux), or −1.</summary>
    public static int CurrentCore() => OperatingSystem.IsLinux() && s_libc ? Guard(static () => SchedGetCpu(), -1) : -1;

    /// <summary>Gets the calling thread's kernel thread id (Linux), or 0 (then its helper is never moved).</summary>
    public static int CurrentThreadId() => OperatingSystem.IsLinux() && s_libc ? Guard(static () => GetTid(), 0) : 0;

    /// <summary>Whether the C library had every function used here (false after one was missing: an older libc).</summary>
    private static bool s_libc = true;

    /// <summary>Runs a call into the C library; a missing function or library turns the calls off and gives <paramref name="fallback"/>.</summary>
    private static int Guard(Func<int> call, int fallback)
    {
        try
        {
            return call();
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            s_libc = false;
            return fallback;
        }
    }

    /// <summary>
    /// Moves thread <paramref name="threadId"/> (a pinned helper) to the highest allowed core that is neither
    /// <paramref name="avoid"/> nor in <paramref name="taken"/>.
    /// </summary>
    /// <returns>The core it now runs on, or −1 when it could not be moved (it stays where it was).</returns>
    public static int Move(int threadId, int avoid, ReadOnlySpan<int> taken)
    {
        var allowed = s_allowed;
        if (!OperatingSystem.IsLinux() || threadId == 0 || allowed is null)
        {
            return -1;
        }

        fixed (ulong* mask = allowed)
        {
            return PinTo(threadId, Highest(mask, 1, avoid, taken));
        }
    }

    /// <summary>Gets the <paramref name="n"/>-th highest core of <paramref name="mask"/> that is neither <paramref name="avoid"/> nor in <paramref name="taken"/>, or −1.</summary>
    private static int Highest(ulong* mask, int n, int avoid, ReadOnlySpan<int> taken)
    {
        var seen = 0;
        for (var cpu = (MaskBytes * 8) - 1; cpu >= 0; cpu--)
        {
            if ((mask[cpu / 64] & (1UL << (cpu % 64))) != 0 && cpu != avoid && !taken.Contains(cpu) && ++seen == n)
            {
                return cpu;
            }
        }

        return -1;
    }

    /// <summary>Pins thread <paramref name="threadId"/> (0: the calling thread) to core <paramref name="cpu"/>; returns the core, or −1 when it was not pinned.</summary>
    private static int PinTo(int threadId, int cpu)
    {
        if (cpu < 0)
        {
            return -1;
        }

        var one = stackalloc ulong[MaskBytes / sizeof(ulong)];
        new Span<ulong>(one, MaskBytes / sizeof(ulong)).Clear();
        one[cpu / 64] = 1UL << (cpu % 64);
        return SchedSetAffinity(threadId, MaskBytes, one) == 0 ? cpu : -1;
    }

    private static ulong[]? s_allowed;

    private static int CountAllowed(ulong* mask)
    {
        var count = 0;
        for (var i = 0; i < MaskBytes / sizeof(ulong); i++)
        {
            count += System.Numerics.BitOperations.PopCount(mask[i]);
        }

        return count;
    }

    [LibraryImport("libc", EntryPoint = "sched_getaffinity")]
    private static partial int SchedGetAffinity(int pid, nint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static partial int SchedSetAffinity(int pid, nint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getcpu")]
    private static partial int SchedGetCpu();

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
