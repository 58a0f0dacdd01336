using System.Runtime.ExceptionServices;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// Runs a kernel's independent pieces on up to a given number of threads. The count is an argument of every kernel
/// (each model carries its own), never a process-wide setting, so two trainers in one process do not change each
/// other's parallelism. The caller works too and takes pieces from a shared counter; helpers queued on the thread
/// pool join when they get a core. The caller waits only for pieces already started, never for a helper that has not
/// been scheduled yet, so a busy machine slows a multiply down to one core's speed rather than stalling it.
/// </summary>
internal static class Parallelism
{
    /// <summary>Returns <paramref name="threads"/>, or every core when it is 0 or less.</summary>
    public static int Resolve(int threads) => threads > 0 ? threads : Environment.ProcessorCount;

    /// <summary>Calls <paramref name="body"/> for 0 … <paramref name="count"/> − 1 on up to <paramref name="threads"/> threads (0: every core).</summary>
    public static void For(int threads, int count, Action<int> body)
    {
        threads = Math.Min(Resolve(threads), count);
        if (threads <= 1)
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        var job = new Job(count, body);
        for (var t = 1; t < threads; t++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
        }

        job.Execute();
        var spin = default(SpinWait);
        while (Volatile.Read(ref job.Done) < count)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        if (job.Error is { } error)
        {
            error.Throw();
        }
    }

    private sealed class Job(int count, Action<int> body) : IThreadPoolWorkItem
    {
        public int Done;
        private int _next;

        public ExceptionDispatchInfo? Error { get; private set; }

        public void Execute()
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < count)
            {
                try
                {
                    body(i);
                }
                catch (Exception ex)
                {
                    Error ??= ExceptionDispatchInfo.Capture(ex);
                }
                finally
                {
                    Interlocked.Increment(ref Done);
                }
            }
        }
    }
}
