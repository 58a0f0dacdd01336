using LlmAdapt.Training.Kernels;
using LlmAdapt.Training.Models.Gpt2;

namespace LlmAdapt.Training.Tests.Kernels;

/// <summary>The per-model helper threads: every piece once, errors surfaced, threads ended on disposal.</summary>
public sealed class WorkersTests
{
    // A prime number of pieces, so they do not split evenly between the threads.
    private const int Pieces = 257;

    [Fact]
    public void For_RunsEveryPieceExactlyOnce_ThroughManyCallsInARow()
    {
        using var workers = new Workers(3);
        var counts = new int[Pieces];
        for (var call = 0; call < 200; call++)
        {
            var item = new Count(counts);
            workers.For(counts.Length, ref item);
        }

        Assert.All(counts, c => Assert.Equal(200, c));
        Assert.InRange(workers.HelpersStarted, 2, int.MaxValue);
    }

    [Fact]
    public void For_RunsEveryPieceExactlyOnce_WhenThePiecesDoNotFillEveryThreadsShare()
    {
        // 1 … 9 pieces on 3 threads: shares of 0 to 3 pieces each, some empty.
        using var workers = new Workers(3);
        for (var pieces = 1; pieces <= 9; pieces++)
        {
            var counts = new int[pieces];
            for (var call = 0; call < 300; call++)
            {
                var item = new Count(counts);
                workers.For(pieces, ref item);
            }

            Assert.All(counts, c => Assert.Equal(300, c));
        }
    }

    [Fact]
    public void For_AHelperStartsOnItsOwnShare_NotOnTheNextUnclaimedPiece()
    {
        // Two threads, four pieces: the caller's share is 0–1, the helper's 2–3. Piece 0 holds the caller until the
        // helper has started a piece, so the helper's first claim is not raced: from its own share it is piece 2 (one
        // shared counter would have handed it piece 1).
        using var workers = new Workers(2);
        for (var call = 0; call < 20; call++)
        {
            int[] first = [-1];
            var log = new FirstPieces(Environment.CurrentManagedThreadId, first);
            workers.For(4, ref log);
            Assert.Equal(2, first[0]);
        }
    }

    [Fact]
    public void For_ThrowsThePiecesException_AndTheNextCallStillRunsEveryPiece()
    {
        using var workers = new Workers(2);
        var failing = new Failing(17);
        var error = Assert.Throws<InvalidOperationException>(() => workers.For(64, ref failing));
        Assert.Equal("piece 17", error.Message);

        var counts = new int[64];
        var item = new Count(counts);
        workers.For(counts.Length, ref item);
        Assert.All(counts, c => Assert.Equal(1, c));
    }

    [Fact]
    public void Dispose_EndsTheHelpers_AndLaterCallsAreRefused()
    {
        var workers = new Workers(3);
        var counts = new int[10];
        var item = new Count(counts);
        workers.For(counts.Length, ref item);
        Assert.Equal(2, workers.HelpersStarted);

        workers.Dispose();

        Assert.Equal(0, workers.LiveHelpers);
        Assert.Throws<ObjectDisposedException>(() => workers.For(counts.Length, ref item));
    }

    [Fact]
    public void AModel_OwnsItsWorkers_FollowsItsThreadSetting_AndEndsThemWhenDisposed()
    {
        // A 2-layer GPT-2 on 2 × 16 tokens: attention and the element-wise ops share their pieces with the model's helper.
        var model = new Gpt2Model<float>(new Gpt2Config { Layers = 2, Heads = 2, Channels = 16, ContextLength = 16, VocabSize = 50 }) { Threads = 2 };
        using var other = new Gpt2Model<float>(new Gpt2Config { Layers = 1, Heads = 2, Channels = 16, ContextLength = 16, VocabSize = 50 }) { Threads = 3 };
        model.InitializeRandom(5);
        var tokens = Enumerable.Range(0, 32).Select(i => (i * 7) % 50).ToArray();
        model.Forward(tokens, tokens, 2, 16);
        var workers = model.Workers;
        Assert.Equal(2, workers.Count);
        Assert.Equal(3, other.Workers.Count);
        Assert.NotSame(workers, other.Workers);
        Assert.Equal(1, workers.HelpersStarted);

        model.Dispose();

        Assert.Equal(0, workers.LiveHelpers);
        model.Threads = 1;
        Assert.Equal(1, model.Workers.Count);
        Assert.False(double.IsNaN(model.Forward(tokens, tokens, 2, 16)));
    }

    private readonly struct Count(int[] counts) : IWorkItem
    {
        public void Run(int index) => Interlocked.Increment(ref counts[index]);
    }

    /// <summary>Records in first[0] the first piece a thread other than the caller ran; piece 0 waits (up to 10 s) for that thread to start one.</summary>
    private readonly struct FirstPieces(int caller, int[] first) : IWorkItem
    {
        public void Run(int index)
        {
            if (Environment.CurrentManagedThreadId != caller)
            {
                Interlocked.CompareExchange(ref first[0], index, -1);
            }

            if (index == 0)
            {
                var started = first;
                Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref started[0]) >= 0, TimeSpan.FromSeconds(10)), "the helper never started a piece");
            }
        }
    }

    private readonly struct Failing(int bad) : IWorkItem
    {
        public void Run(int index)
        {
            if (index == bad)
            {
                throw new InvalidOperationException($"piece {index}");
            }
        }
    }
}
