using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Tests.Kernels;

public sealed unsafe class MatMulTests : IDisposable
{
    // Two threads with no size threshold, so even the tiny shapes below take the threaded path.
    private readonly Workers _two = new(2) { MinParallelWork = 0 };

    public void Dispose() => _two.Dispose();

    public static TheoryData<int, int, int, bool, bool> Shapes => new()
    {
        { 1, 1, 1, false, false },
        { 7, 13, 37, false, false },
        { 13, 17, 31, true, true },
        { 50, 300, 70, false, false },
        { 64, 48, 129, true, false },
        { 13, 64, 33, false, true },
        { 100, 17, 260, true, true },
        { 97, 541, 67, false, true },
        { 37, 700, 11, true, false },
        { 5, 2, 600, false, false },
        { 4, 1024, 128, true, false },
        { 384, 200, 4, true, false },
        { 16, 70, 129, true, false },
        { 3, 33, 70, false, false },
        { 6, 45, 257, false, false },
        { 1024, 128, 4, false, true },
        { 301, 384, 16, false, false },
        { 45, 70, 7, false, true },
        { 50, 37, 5, false, false },
        { 1, 128, 1000, false, true },
        { 4, 33, 70, false, true },
        { 8, 16, 9, false, true },
        // The last rows as a shorter tile read in place, overlapping the tile before it: 4 rows as 6 (LoRA rank 64's
        // dA, Aᵀ·B) and a one-vector panel (rank 16's dh); 5 rows in a 5-row matrix, too short for that, packed.
        { 64, 300, 128, true, false },
        { 1024, 384, 16, false, false },
        { 5, 20, 5, false, true },
        // Twice-deep blocks (at most four panels of columns): 1100 = 3 × 367, both ways of storing B.
        { 40, 1100, 128, false, false },
        { 40, 1100, 100, true, true },
        // B stored [n, k] packed four depth steps at a time after the eights: k = 4 (a rank-4 LoRA factor), 14 = 8 + 4 + 2.
        { 30, 4, 96, false, true },
        { 40, 14, 70, true, true },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Gemm_MatchesAFloat64Product_OnEveryKernel_ForOddShapesAndTransposes(int m, int k, int n, bool transA, bool transB)
    {
        var (a, b, c, expected) = Problem(m, k, n, transA, transB, seed: m + k + n);
        foreach (var kernel in Kernels())
        {
            foreach (var accumulate in new[] { true, false })
            {
                var output = (float[])c.Clone();
                fixed (float* pa = a, pb = b, pc = output)
                {
                    MatMul.Gemm(pa, transA, pb, transB, pc, m, k, n, accumulate, _two, kernel);
                }

                for (var i = 0; i < m * n; i++)
                {
                    var want = expected[i] - (accumulate ? 0 : c[i]);
                    Assert.True(Math.Abs(output[i] - want) < (1e-4 * Math.Max(1, Math.Abs(want))) + 1e-4, $"{kernel}, accumulate {accumulate}, element {i}: {output[i]} vs {want}");
                }
            }
        }
    }

    [Fact]
    public void Gemm_OnDoubles_MatchesTheReferenceToRoundOff()
    {
        const int m = 29, k = 300, n = 45;
        var a = GradientCheck.Random(m * k, 7);
        var b = GradientCheck.Random(k * n, 8);
        foreach (var kernel in Kernels())
        {
            var c = new double[m * n];
            fixed (double* pa = a, pb = b, pc = c)
            {
                MatMul.Gemm(pa, true, pb, false, pc, m, k, n, accumulate: false, _two, kernel);
            }

            for (var i = 0; i < m; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    var sum = 0.0;
                    for (var p = 0; p < k; p++)
                    {
                        sum += a[(p * m) + i] * b[(p * n) + j];
                    }

                    Assert.Equal(sum, c[(i * n) + j], 10);
                }
            }
        }
    }

    [Theory]
    [InlineData(197, 600, 515, true)]
    [InlineData(197, 1100, 100, false)]
    public void Gemm_GivesBitwiseEqualResults_ForAnyThreadCount(int m, int k, int n, bool transB)
    {
        // 515 columns: 256-deep blocks; 100 columns (at most four panels): blocks twice as deep, 3 × 367.
        var (a, b, _, _) = Problem(m, k, n, false, transB, seed: 4);
        var results = new[] { 1, 2, 3, 8 }.Select(threads =>
        {
            var c = new float[m * n];
            using var workers = new Workers(threads) { MinParallelWork = 0 };
            fixed (float* pa = a, pb = b, pc = c)
            {
                MatMul.Gemm(pa, false, pb, transB, pc, m, k, n, accumulate: false, workers);
            }

            return c;
        }).ToArray();

        foreach (var other in results.Skip(1))
        {
            Assert.Equal(results[0], other);
        }
    }

    [Theory]
    [InlineData(197, 600, 515, false, true)]
    [InlineData(197, 600, 515, true, false)]
    [InlineData(40, 300, 48, false, false)]
    [InlineData(1024, 128, 384, false, true)]
    [InlineData(33, 17, 1000, true, true)]
    [InlineData(12, 64, 70, false, true)]
    [InlineData(130, 1100, 100, false, true)]
    [InlineData(61, 700, 16, false, false)]
    public void Gemm_WithAPackedB_GivesTheSameBitsAsPackingPerCall_OnEveryKernelAndThreadCount(int m, int k, int n, bool transA, bool transB)
    {
        // Depths that split into equal blocks (600 = 3 × 200; at most four panels wide, twice as deep: 1100 = 3 × 367,
        // 700 = 2 × 350), column counts ending in a half panel (515, 48, 70, 1000, 100, 16) and in a whole one (384), and a
        // short matrix (12 rows) whose product takes the Cᵀ route and so reads B in place.
        var (a, b, c, _) = Problem(m, k, n, transA, transB, seed: 9);
        using var one = new Workers(1);
        foreach (var kernel in Kernels())
        {
            foreach (var workers in new[] { one, _two })
            {
                var plain = (float[])c.Clone();
                var packed = (float[])c.Clone();
                fixed (float* pa = a, pb = b, pc = plain, pp = packed)
                {
                    var pack = MatMul.Pack(pb, transB, k, n, workers, kernel);
                    MatMul.Gemm(pa, transA, pb, transB, pc, m, k, n, accumulate: true, workers, kernel);
                    MatMul.Gemm(pa, transA, pb, transB, pp, m, k, n, accumulate: true, workers, kernel, pack);
                }

                Assert.Equal(plain, packed);
            }
        }
    }

    [Fact]
    public void Gemm_RefusesAPackOfAnotherMatrix()
    {
        var (a, b, _, _) = Problem(40, 30, 50, false, false, seed: 2);
        var c = new float[40 * 50];
        fixed (float* pa = a, pb = b, pc = c)
        {
            var pack = MatMul.Pack(pb, false, 30, 50);
            var p = pa;
            var q = pb;
            var o = pc;
            Assert.Throws<ArgumentException>(() => MatMul.Gemm(p, false, q, true, o, 40, 30, 50, accumulate: false, null, pack));
            Assert.Throws<ArgumentException>(() => MatMul.Gemm(p, false, q + 1, false, o, 40, 30, 50, accumulate: false, null, pack));
        }
    }

    [Theory]
    [InlineData(30, 33, 47, false, false)]
    [InlineData(30, 33, 47, true, true)]
    [InlineData(26, 9, 40, false, true)]
    [InlineData(5, 40, 70, true, false)]
    [InlineData(5, 40, 70, false, true)]
    public void Gemm_OnStridedSubMatrices_MatchesTheCompactProduct_AndLeavesTheRestAlone(int m, int k, int n, bool transA, bool transB)
    {
        // Each matrix sits in the left columns of a wider array (rows 3, 5 and 7 elements longer), as one attention head does.
        var (a, b, c, expected) = Problem(m, k, n, transA, transB, seed: 3 * (m + n));
        int rowsA = transA ? k : m, colsA = transA ? m : k, rowsB = transB ? n : k, colsB = transB ? k : n;
        int lda = colsA + 3, ldb = colsB + 5, ldc = n + 7;
        var wideA = Widen(a, rowsA, colsA, lda);
        var wideB = Widen(b, rowsB, colsB, ldb);
        var wideC = Widen(c, m, n, ldc);
        var untouched = (float[])wideC.Clone();
        fixed (float* pa = wideA, pb = wideB, pc = wideC)
        {
            MatMul.Gemm(pa, transA, lda, pb, transB, ldb, pc, ldc, m, k, n, accumulate: true, _two);
        }

        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < ldc; j++)
            {
                var got = wideC[(i * ldc) + j];
                if (j >= n)
                {
                    Assert.Equal(untouched[(i * ldc) + j], got);
                    continue;
                }

                var want = expected[(i * n) + j];
                Assert.True(Math.Abs(got - want) < 1e-4 * Math.Max(1, Math.Abs(want)), $"({i}, {j}): {got} vs {want}");
            }
        }
    }

    [Fact]
    public void OnOneThread_MultipliesAndAttentionHeads_AllocateNothing_AfterTheFirstCall()
    {
        // A training step makes thousands of these calls (attention alone: six per block of rows per head), so none may
        // allocate: the packed path, both narrow paths (one with its scratch copy of B), and one attention head.
        const int t = 100, hd = 16;
        var x = GradientCheck.Random(t * 3 * 64, 31).Select(v => (float)v).ToArray();
        var y = GradientCheck.Random(t * 3 * 64, 32).Select(v => (float)v).ToArray();
        var output = new float[t * t];
        var dx = new float[x.Length];
        fixed (float* px = x, py = y, po = output, pd = dx)
        {
            var (a, b, c, d) = ((nint)px, (nint)py, (nint)po, (nint)pd);
            void Calls()
            {
                MatMul.Gemm((float*)a, false, (float*)b, true, (float*)c, 50, 70, 60, accumulate: false);
                MatMul.Gemm((float*)a, true, (float*)b, false, (float*)c, 4, 100, 128, accumulate: true);
                MatMul.Gemm((float*)a, true, (float*)b, false, (float*)c, 100, 50, 4, accumulate: true);
                MatMul.Gemm((float*)a, false, (float*)b, true, (float*)c, 100, 64, 4, accumulate: false);
                MatMul.Gemm((float*)a, false, (float*)b, false, (float*)c, 100, 64, 4, accumulate: false);
                Layers.HeadForward((float*)a, 3 * 64, (float*)a + 64, (float*)a + 128, 3 * 64, (float*)d, 64, (float*)c, t, hd);
                Layers.HeadBackward((float*)d, (float*)a, 3 * 64, (float*)d + 64, (float*)d + 128, (float*)a + 64, (float*)a + 128, 3 * 64, (float*)b, 64, (float*)c, t, hd);
            }

            Calls();
            var before = GC.GetAllocatedBytesForCurrentThread();
            Calls();
            Calls();
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    [Fact]
    public void OnTwoThreads_EveryMultiplyRoute_AllocatesNothing_OnTheCallingThread_AfterTheFirstCall()
    {
        // The threaded path hands its pieces over through a pointer to a struct on the caller's stack: no closure, no
        // job object, no delegate per call (the helpers run the same pieces as the caller does alone).
        var x = GradientCheck.Random(400 * 128, 33).Select(v => (float)v).ToArray();
        var y = GradientCheck.Random(400 * 128, 34).Select(v => (float)v).ToArray();
        var output = new float[400 * 128];
        fixed (float* px = x, py = y, po = output)
        {
            var (a, b, c) = ((nint)px, (nint)py, (nint)po);
            void Calls()
            {
                MatMul.Gemm((float*)a, false, (float*)b, true, (float*)c, 150, 128, 200, accumulate: false, _two);
                MatMul.Gemm((float*)a, true, (float*)b, false, (float*)c, 4, 300, 128, accumulate: true, _two);
                MatMul.Gemm((float*)a, true, (float*)b, false, (float*)c, 384, 100, 4, accumulate: true, _two);
                MatMul.Gemm((float*)a, false, (float*)b, true, (float*)c, 300, 64, 4, accumulate: false, _two);
                MatMul.Gemm((float*)a, false, (float*)b, true, (float*)c, 2, 128, 400, accumulate: false, _two);
            }

            Calls();
            var before = GC.GetAllocatedBytesForCurrentThread();
            Calls();
            Calls();
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    [Fact]
    public void Gemm_WithZeroDepth_ClearsOrKeepsTheOutput()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        fixed (float* pc = c)
        {
            MatMul.Gemm(pc, pc, pc, 2, 0, 3, accumulate: true);
            Assert.Equal([1f, 2, 3, 4, 5, 6], c);
            MatMul.Gemm(pc, pc, pc, 2, 0, 3, accumulate: false);
        }

        Assert.All(c, x => Assert.Equal(0f, x));
    }

    private static IEnumerable<MatMul.Kernel> Kernels() => MatMul.Best == MatMul.Kernel.Avx512 ? [MatMul.Kernel.Avx512, MatMul.Kernel.Avx2] : [MatMul.Kernel.Avx2];

    private static float[] Widen(float[] compact, int rows, int cols, int stride)
    {
        var wide = GradientCheck.Random(rows * stride, rows + stride).Select(x => (float)x).ToArray();
        for (var i = 0; i < rows; i++)
        {
            compact.AsSpan(i * cols, cols).CopyTo(wide.AsSpan(i * stride, cols));
        }

        return wide;
    }

    private static (float[] A, float[] B, float[] C, double[] Expected) Problem(int m, int k, int n, bool transA, bool transB, int seed)
    {
        var a = GradientCheck.Random(m * k, seed).Select(x => (float)x).ToArray();
        var b = GradientCheck.Random(k * n, seed + 1).Select(x => (float)x).ToArray();
        var c = GradientCheck.Random(m * n, seed + 2).Select(x => (float)x).ToArray();
        var expected = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = c[(i * n) + j];
                for (var p = 0; p < k; p++)
                {
                    double av = transA ? a[(p * m) + i] : a[(i * k) + p];
                    double bv = transB ? b[(j * k) + p] : b[(p * n) + j];
                    sum += av * bv;
                }

                expected[(i * n) + j] = sum;
            }
        }

        return (a, b, c, expected);
    }
}
