using System.Diagnostics;
using System.Runtime.InteropServices;
using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Tests.Kernels;

/// <summary>Helper threads pinned to cores of their own (Linux; CI runs these on a 2-core Linux machine).</summary>
public sealed partial class CoreAffinityTests
{
    [Fact]
    public void PinHelper_PutsHelperOneOnTheHighestAllowedCore_AndItStaysThere()
    {
        var allowed = AllowedCores();
        if (!OperatingSystem.IsLinux() || allowed.Count < 2 || !AffinityCanBeSet())
        {
            return;
        }

        var (pinned, seen) = OnNewThread(() => CoreAffinity.PinHelper(1, 2));
        Assert.Equal(allowed.Max(), pinned);
        Assert.All(seen, cpu => Assert.Equal(pinned, cpu));
    }

    [Fact]
    public void Move_PutsAPinnedHelperOnAnotherCore_FromAnotherThread()
    {
        var allowed = AllowedCores();
        if (!OperatingSystem.IsLinux() || allowed.Count < 2 || !AffinityCanBeSet())
        {
            return;
        }

        using var pinnedEvent = new ManualResetEventSlim();
        using var movedEvent = new ManualResetEventSlim();
        int pinned = -1, threadId = 0;
        var seen = new List<int>();
        var helper = new Thread(() =>
        {
            pinned = CoreAffinity.PinHelper(1, 2);
            threadId = CoreAffinity.CurrentThreadId();
            pinnedEvent.Set();
            movedEvent.Wait();
            for (var i = 0; i < 100; i++)
            {
                seen.Add(CoreAffinity.CurrentCore());
                Thread.Sleep(0);
            }
        });
        helper.Start();
        pinnedEvent.Wait();
        var moved = CoreAffinity.Move(threadId, pinned, [pinned]);
        movedEvent.Set();
        helper.Join();

        Assert.Equal(allowed.Max(), pinned);
        Assert.Equal(allowed.OrderDescending().ElementAt(1), moved);
        Assert.All(seen, cpu => Assert.Equal(moved, cpu));
    }

    [Fact]
    public void PinHelper_LeavesTheThreadFree_WhenThePoolIsLargerThanTheAllowedCores_OrForTheCaller()
    {
        var allowed = AllowedCores();
        if (!OperatingSystem.IsLinux() || allowed.Count < 1)
        {
            return;
        }

        Assert.Equal(-1, OnNewThread(() => CoreAffinity.PinHelper(1, allowed.Count + 1)).Result);
        Assert.Equal(-1, OnNewThread(() => CoreAffinity.PinHelper(0, 2)).Result);
    }

    /// <summary>Runs <paramref name="pin"/> on a new thread, then notes which core that thread runs on, 200 times over 20 ms.</summary>
    private static (int Result, List<int> Seen) OnNewThread(Func<int> pin)
    {
        var result = 0;
        var seen = new List<int>();
        var thread = new Thread(() =>
        {
            result = pin();
            var until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 50);
            while (Stopwatch.GetTimestamp() < until && seen.Count < 200)
            {
                seen.Add(CoreAffinity.CurrentCore());
                Thread.Sleep(0);
            }
        });
        thread.Start();
        thread.Join();
        return (result, seen);
    }

    private static List<int> AllowedCores()
    {
        if (!OperatingSystem.IsLinux())
        {
            return [];
        }

        var mask = (long)Process.GetCurrentProcess().ProcessorAffinity;
        return Enumerable.Range(0, 64).Where(cpu => (mask & (1L << cpu)) != 0).ToList();
    }

    /// <summary>Whether this machine lets a thread set its own affinity at all (a sandbox may refuse the system call).</summary>
    private static unsafe bool AffinityCanBeSet()
    {
        var ok = false;
        var thread = new Thread(() =>
        {
            var mask = stackalloc ulong[16];
            ok = SchedGetAffinity(0, 128, mask) == 0 && SchedSetAffinity(0, 128, mask) == 0;
        });
        thread.Start();
        thread.Join();
        return ok;
    }

    [LibraryImport("libc", EntryPoint = "sched_getaffinity")]
    private static unsafe partial int SchedGetAffinity(int pid, nint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static unsafe partial int SchedSetAffinity(int pid, nint size, ulong* mask);
}
