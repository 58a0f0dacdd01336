using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// Dense matrix multiply, row-major: C[m, n] (+)= op(A)[m, k] · op(B)[k, n], where op transposes A stored [k, m] or B
/// stored [n, k]. The structure is the Goto/BLIS one that MLAS and llm.c's CPU path follow:
/// <list type="bullet">
/// <item>The output is cut into tasks of up to <see cref="RowBlock"/> × <see cref="ColumnBlock"/> (MC × NC), fewer and
/// smaller only when that is needed to give every thread work; each task is written by one thread, and the depth is
/// always walked in the same blocks, so results do not depend on the thread count or on scheduling.</item>
/// <item>Per depth block of up to <see cref="DepthBlock"/> (KC), a task packs its slice of op(B) into panels NR
/// columns wide (KC × NR, contiguous, zero-padded) and its slice of op(A) into panels MR rows tall (interleaved
/// by depth, zero-padded). Packing is where transposes happen, so A·Bᵀ and Aᵀ·B never copy a whole matrix.</item>
/// <item>A micro-kernel keeps an MR × NR tile of C in registers and, per depth step, loads two vectors of B and
/// broadcasts MR values of A into 2·MR fused multiply-adds. With AVX-512 it is 12 × 32 floats (24 zmm accumulators
/// of the 32); on AVX2 it is 6 × 16 floats (12 ymm accumulators of the 16). Doubles run the same kernels with half
/// the columns. A B panel (KC × NR, 32 KiB for floats on AVX-512) stays in L1 while the A block (MC × KC) streams
/// from L2.</item>
/// <item>Tiles on the edges (rows or columns short of MR or NR) are computed in full on the zero padding and only
/// their valid part is added to C.</item>
/// </list>
/// </summary>
internal static unsafe class MatMul
{
    /// <summary>KC: the depth of one packed block.</summary>
    internal const int DepthBlock = 256;

    /// <summary>MC: the most rows of C one task covers.</summary>
    internal const int RowBlock = 1008;

    /// <summary>NC: the most columns of C one task covers (its packed B slice, KC × NC, stays in L2).</summary>
    internal const int ColumnBlock = 512;

    /// <summary>The micro-kernels; <see cref="Best"/> is the widest the machine runs.</summary>
    internal enum Kernel
    {
        /// <summary>6 rows × two 256-bit vectors (AVX2, or any machine through the portable vectors).</summary>
        Avx2,

        /// <summary>12 rows × two 512-bit vectors (AVX-512).</summary>
        Avx512,
    }

    /// <summary>Gets the kernel this machine runs best.</summary>
    internal static Kernel Best { get; } = Vector512.IsHardwareAccelerated ? Kernel.Avx512 : Kernel.Avx2;

    /// <summary>
    /// C[m, n] (+)= op(A)[m, k] · op(B)[k, n]; A is stored [k, m] when transposed, B is stored [n, k];
    /// <paramref name="threads"/> is the most threads to use, 0 meaning every core.
    /// </summary>
    public static void Gemm<T>(T* a, bool transA, T* b, bool transB, T* c, int m, int k, int n, bool accumulate, int threads = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(a, transA, b, transB, c, m, k, n, accumulate, threads, Best);

    /// <summary>C[m, n] (+)= A[m, k] · B[k, n]; <paramref name="threads"/> is the most threads to use, 0 meaning every core.</summary>
    public static void Gemm<T>(T* a, T* b, T* c, int m, int k, int n, bool accumulate, int threads = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(a, false, b, false, c, m, k, n, accumulate, threads, Best);

    /// <summary>
    /// As <see cref="Gemm{T}(T*, bool, T*, bool, T*, int, int, int, bool, int)"/> on sub-matrices of larger row-major
    /// arrays: consecutive stored rows of A, B and C lie <paramref name="lda"/>, <paramref name="ldb"/> and
    /// <paramref name="ldc"/> elements apart (attention reads one head's columns out of rows holding every head).
    /// </summary>
    public static void Gemm<T>(T* a, bool transA, int lda, T* b, bool transB, int ldb, T* c, int ldc, int m, int k, int n, bool accumulate, int threads = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (lda < (transA ? m : k) || ldb < (transB ? k : n) || ldc < n)
        {
            throw new ArgumentOutOfRangeException(nameof(lda), $"Row strides {lda}, {ldb}, {ldc} are shorter than the rows of {m} × {k} × {n}.");
        }

        Gemm(a, transA, lda, b, transB, ldb, c, ldc, m, k, n, accumulate, threads, Best);
    }

    /// <summary>As the public overloads, on a chosen micro-kernel (tests force the AVX2 one on AVX-512 machines).</summary>
    internal static void Gemm<T>(T* a, bool transA, T* b, bool transB, T* c, int m, int k, int n, bool accumulate, int threads, Kernel kernel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(a, transA, transA ? m : k, b, transB, transB ? k : n, c, n, m, k, n, accumulate, threads, kernel);

    private static void Gemm<T>(T* a, bool transA, int lda, T* b, bool transB, int ldb, T* c, int ldc, int m, int k, int n, bool accumulate, int threads, Kernel kernel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(m), $"Negative matrix dimension in {m} × {k} × {n}.");
        }

        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            for (var i = 0; !accumulate && i < m; i++)
            {
                new Span<T>(c + ((long)i * ldc), n).Clear();
            }

            return;
        }

        // Few rows and more columns: compute Cᵀ = op(B)ᵀ · op(A)ᵀ instead, so the short side lies along the vectors of
        // a (narrow) B panel rather than along MR rows that would mostly be padding; the tiles are stored transposed.
        var width = kernel == Kernel.Avx512 ? Vector512<T>.Count : Vector256<T>.Count;
        var plan = m <= width && n > m
            ? new Plan<T>(b, !transB, ldb, a, !transA, lda, c, ldc, n, k, m, accumulate, kernel, Parallelism.Resolve(threads), transposeC: true)
            : new Plan<T>(a, transA, lda, b, transB, ldb, c, ldc, m, k, n, accumulate, kernel, Parallelism.Resolve(threads), transposeC: false);
        if (plan.Tasks == 1 || plan.Threads == 1)
        {
            for (var task = 0; task < plan.Tasks; task++)
            {
                plan.Run(task);
            }

            return;
        }

        Parallelism.For(plan.Threads, plan.Tasks, plan.Run);
    }

    /// <summary>dst[cols, rows] = src[rows, cols]ᵀ, in 32 × 32 blocks.</summary>
    public static void Transpose<T>(T* src, int rows, int cols, T* dst)
        where T : unmanaged
    {
        const int Block = 32;
        for (var i0 = 0; i0 < rows; i0 += Block)
        {
            var i1 = Math.Min(rows, i0 + Block);
            for (var j0 = 0; j0 < cols; j0 += Block)
            {
                var j1 = Math.Min(cols, j0 + Block);
                for (var i = i0; i < i1; i++)
                {
                    var row = src + ((long)i * cols);
                    for (var j = j0; j < j1; j++)
                    {
                        dst[((long)j * rows) + i] = row[j];
                    }
                }
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>One multiply cut into tasks; <see cref="Run"/> computes one task's tile of C.</summary>
    private sealed class Plan<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly nint _a;
        private readonly nint _b;
        private readonly nint _c;
        private readonly bool _transA;
        private readonly bool _transB;
        private readonly int _m;
        private readonly int _k;
        private readonly int _n;
        private readonly bool _accumulate;
        private readonly Kernel _kernel;
        private readonly int _mr;
        private readonly int _nr;
        private readonly int _kc;
        private readonly int _mc;
        private readonly int _nc;
        private readonly int _tilesN;
        private readonly bool _transC;
        private readonly nint _lda;
        private readonly nint _ldb;
        private readonly int _ldc;

        /// <summary>
        /// Plans C (+)= op(A) · op(B) with stored rows lda, ldb, ldc apart; with <paramref name="transposeC"/> the plan
        /// computes Cᵀ (m and n are Cᵀ's), writing element (i, j) to c[j · ldc + i].
        /// </summary>
        public Plan(T* a, bool transA, int lda, T* b, bool transB, int ldb, T* c, int ldc, int m, int k, int n, bool accumulate, Kernel kernel, int threads, bool transposeC)
        {
            (_a, _b, _c, _transA, _transB, _m, _k, _n, _accumulate, _kernel) = ((nint)a, (nint)b, (nint)c, transA, transB, m, k, n, accumulate, kernel);
            (_lda, _ldb, _ldc, _transC) = (lda, ldb, ldc, transposeC);
            var width = kernel == Kernel.Avx512 ? Vector512<T>.Count : Vector256<T>.Count;
            _mr = kernel == Kernel.Avx512 ? 12 : 6;
            _nr = 2 * width;

            // Equal depth blocks of at most KC (k = 300 gives 2 × 150, not 256 + 44); independent of the thread count.
            var depthBlocks = (k + DepthBlock - 1) / DepthBlock;
            _kc = (k + depthBlocks - 1) / depthBlocks;

            // Tasks as large as MC × NC, cut further (along the dimension with more micro-tiles per task) until every
            // thread has about two; the cut changes which thread writes a tile, never the order of one element's sums.
            var chunksM = Count(m, RowBlock);
            var chunksN = Count(n, ColumnBlock);
            var want = threads == 1 || (long)m * n * k < 1 << 16 ? 1 : 2 * threads;
            while (chunksM * chunksN < want)
            {
                var tilesPerM = Count(Count(m, chunksM), _mr);
                var tilesPerN = Count(Count(n, chunksN), _nr);
                if (tilesPerN >= tilesPerM && tilesPerN > 1)
                {
                    chunksN++;
                }
                else if (tilesPerM > 1)
                {
                    chunksM++;
                }
                else
                {
                    break;
                }
            }

            _mc = RoundUp(Count(m, chunksM), _mr);
            _nc = RoundUp(Count(n, chunksN), _nr);
            _tilesN = Count(n, _nc);
            Tasks = Count(m, _mc) * _tilesN;
            Threads = Math.Min(threads, Tasks);
        }

        public int Tasks { get; }

        public int Threads { get; }

        /// <summary>
        /// Computes the tile of task <paramref name="task"/> over the whole depth: per depth block, packs its B slice
        /// once, then walks A in MR-row panels (read in place, packed only on the ragged last panel) across every B panel.
        /// </summary>
        public void Run(int task)
        {
            var i0 = task / _tilesN * _mc;
            var j0 = task % _tilesN * _nc;
            var rows = Math.Min(_mc, _m - i0);
            var cols = Math.Min(_nc, _n - j0);
            var panelsM = Count(rows, _mr);
            var panelsN = Count(cols, _nr);
            var packA = Scratch<T>.A(_mr * _kc);
            var packB = Scratch<T>.B(panelsN * _nr * _kc);
            var edge = Scratch<T>.Edge(_mr * _nr);
            T* a = (T*)_a, b = (T*)_b, c = (T*)_c;
            for (var p0 = 0; p0 < _k; p0 += _kc)
            {
                var depth = Math.Min(_kc, _k - p0);
                PackB(b, packB, p0, depth, j0, cols);
                var load = _accumulate || p0 > 0;
                for (var ip = 0; ip < panelsM; ip++)
                {
                    var i = i0 + (ip * _mr);
                    var validRows = Math.Min(_mr, _m - i);

                    // op(A)[i + r, p0 + q] sits at ap[r · lda + q · step].
                    T* ap;
                    nint lda, step;
                    if (validRows < _mr)
                    {
                        PackA(a, packA, i, validRows, p0, depth);
                        ap = packA;
                        (lda, step) = (1, _mr);
                    }
                    else if (_transA)
                    {
                        ap = a + (p0 * _lda) + i;
                        (lda, step) = (1, _lda);
                    }
                    else
                    {
                        ap = a + (i * _lda) + p0;
                        (lda, step) = (_lda, 1);
                    }

                    for (var jp = 0; jp < panelsN; jp++)
                    {
                        var bp = packB + ((long)jp * _nr * depth);
                        var j = j0 + (jp * _nr);
                        var validCols = Math.Min(_nr, _n - j);
                        // C[i, j], or with C transposed C[j, i]; a transposed tile always goes through the edge path.
                        var tile = _transC ? c + ((long)j * _ldc) + i : c + ((long)i * _ldc) + j;
                        var ldc = _transC ? -_ldc : _ldc;
                        var wide = PanelWidth(jp, cols) == _nr;
                        switch (_kernel, wide)
                        {
                            case (Kernel.Avx512, true):
                                Kernel12<T, Two>(ap, lda, step, bp, depth, tile, ldc, load, validRows, validCols, edge);
                                break;
                            case (Kernel.Avx512, false):
                                Kernel12<T, One>(ap, lda, step, bp, depth, tile, ldc, load, validRows, validCols, edge);
                                break;
                            case (_, true):
                                Kernel6<T, Two>(ap, lda, step, bp, depth, tile, ldc, load, validRows, validCols, edge);
                                break;
                            default:
                                Kernel6<T, One>(ap, lda, step, bp, depth, tile, ldc, load, validRows, validCols, edge);
                                break;
                        }
                    }
                }
            }
        }

        private static int Count(int total, int block) => (total + block - 1) / block;

        /// <summary>op(A)[first … first+valid, p0 … p0+depth] as one MR-row panel, d[p · MR + r]; rows past valid zero.</summary>
        private void PackA(T* a, T* d, int first, int valid, int p0, int depth)
        {
            var mr = _mr;
            for (var p = 0; p < depth; p++)
            {
                var row = d + ((long)p * mr);
                var r = 0;
                for (; r < valid; r++)
                {
                    row[r] = _transA ? a[((p0 + p) * _lda) + first + r] : a[((first + r) * _lda) + p0 + p];
                }

                for (; r < mr; r++)
                {
                    row[r] = T.Zero;
                }
            }
        }

        /// <summary>Gets the width of B panel <paramref name="panel"/> of a task: NR, or NR/2 for a last panel that narrow.</summary>
        private int PanelWidth(int panel, int cols) => cols - (panel * _nr) <= _nr / 2 ? _nr / 2 : _nr;

        /// <summary>
        /// op(B)[p0 … p0+depth, j0 … j0+cols] into panels of NR columns (the last NR/2 wide when that covers it), each
        /// panel[p · width + j] from offset panel · NR · depth; columns past n are zero.
        /// </summary>
        private void PackB(T* b, T* dst, int p0, int depth, int j0, int cols)
        {
            for (var panel = 0; panel * _nr < cols; panel++)
            {
                var nr = PanelWidth(panel, cols);
                var d = dst + ((long)panel * _nr * depth);
                var first = j0 + (panel * _nr);
                var valid = Math.Min(nr, _n - first);
                if (_transB)
                {
                    // Stored [n, k]: each depth step gathers one value from each of the panel's column runs, eight
                    // columns × eight steps at a time through an in-register transpose where the block is whole.
                    var src = b + (first * _ldb) + p0;
                    var p = 0;
                    if (typeof(T) == typeof(float) && Avx.IsSupported && valid == nr && nr % 8 == 0)
                    {
                        for (; p + 8 <= depth; p += 8)
                        {
                            for (var j = 0; j < nr; j += 8)
                            {
                                Transpose8x8((float*)(src + (j * _ldb) + p), _ldb, (float*)(d + ((long)p * nr) + j), nr);
                            }
                        }
                    }

                    for (; p < depth; p++)
                    {
                        var row = d + ((long)p * nr);
                        var j = 0;
                        for (; j < valid; j++)
                        {
                            row[j] = src[(j * _ldb) + p];
                        }

                        for (; j < nr; j++)
                        {
                            row[j] = T.Zero;
                        }
                    }
                }
                else
                {
                    for (var p = 0; p < depth; p++)
                    {
                        var row = new Span<T>(d + ((long)p * nr), nr);
                        new ReadOnlySpan<T>(b + ((p0 + p) * _ldb) + first, valid).CopyTo(row);
                        row[valid..].Clear();
                    }
                }
            }
        }
    }

    /// <summary>Per-thread packing buffers, pinned, grown on demand and kept for the thread's life.</summary>
    private static class Scratch<T>
        where T : unmanaged
    {
        [ThreadStatic]
        private static T[]? t_a;

        [ThreadStatic]
        private static T[]? t_b;

        [ThreadStatic]
        private static T[]? t_edge;

        public static T* A(int length) => Get(ref t_a, length);

        public static T* B(int length) => Get(ref t_b, length);

        public static T* Edge(int length) => Get(ref t_edge, length);

        private static T* Get(ref T[]? buffer, int length)
        {
            if (buffer is null || buffer.Length < length)
            {
                buffer = GC.AllocateUninitializedArray<T>(Math.Max(length, 1), pinned: true);
            }

            return (T*)Unsafe.AsPointer(ref buffer[0]);
        }
    }

    /// <summary>dst[r · ldd + c] = src[c · lds + r] for an 8 × 8 block of floats (unpack, shuffle, then swap 128-bit halves).</summary>
    private static void Transpose8x8(float* src, nint lds, float* dst, nint ldd)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + (2 * lds));
        var r3 = Avx.LoadVector256(src + (3 * lds));
        var r4 = Avx.LoadVector256(src + (4 * lds));
        var r5 = Avx.LoadVector256(src + (5 * lds));
        var r6 = Avx.LoadVector256(src + (6 * lds));
        var r7 = Avx.LoadVector256(src + (7 * lds));
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + (2 * ldd), Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + (3 * ldd), Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + (4 * ldd), Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + (5 * ldd), Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + (6 * ldd), Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + (7 * ldd), Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// Writes a finished MR × NR tile held row by row in <paramref name="tile"/> into C (valid part only): element
    /// (r, j) to c[r · ldc + j], or for a negative <paramref name="ldc"/> (C transposed) to c[j · |ldc| + r].
    /// </summary>
    private static void StoreEdge<T>(T* tile, int nr, T* c, int ldc, bool load, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (rowStride, colStride) = ldc > 0 ? ((long)ldc, 1L) : (1L, -(long)ldc);
        for (var r = 0; r < rows; r++)
        {
            var src = tile + ((long)r * nr);
            var dst = c + (r * rowStride);
            for (var j = 0; j < cols; j++)
            {
                ref var at = ref dst[j * colStride];
                at = load ? at + src[j] : src[j];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* dst, Vector512<T> value, bool load)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => (load ? value + Vector512.Load(dst) : value).Store(dst);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(T* dst, Vector256<T> value, bool load)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => (load ? value + Vector256.Load(dst) : value).Store(dst);

    /// <summary>
    /// AVX-512 micro-kernel: C[12, NR] (+)= op(A)[12, depth] · Bpanel[depth, NR], NR = 2W (or W for a narrow last
    /// panel), W = 16 floats or 8 doubles; op(A)[r, q] is read at a[r · lda + q · step] (rows in place, or a packed
    /// panel). 24 accumulators, 2 B vectors and one broadcast fill 27 of the 32 zmm registers.
    /// </summary>
    private static void Kernel12<T, TWidth>(T* a, nint lda, nint step, T* b, int depth, T* c, int ldc, bool load, int rows, int cols, T* edge)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TWidth : struct, IPanelWidth
    {
        var w = Vector512<T>.Count;
        var nr = TWidth.Two ? 2 * w : w;
        T* a0 = a, a1 = a + lda, a2 = a + (2 * lda), a3 = a + (3 * lda), a4 = a + (4 * lda), a5 = a + (5 * lda);
        T* a6 = a + (6 * lda), a7 = a + (7 * lda), a8 = a + (8 * lda), a9 = a + (9 * lda), aa = a + (10 * lda), ab = a + (11 * lda);
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<T> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        nint q = 0;
        for (var p = 0; p < depth; p++, q += step, b += nr)
        {
            var b0 = Vector512.Load(b);
            var b1 = TWidth.Two ? Vector512.Load(b + w) : default;
            var x = Vector512.Create(a0[q]);
            c00 = Simd.Fma(x, b0, c00);
            if (TWidth.Two)
            {
                c01 = Simd.Fma(x, b1, c01);
            }

            x = Vector512.Create(a1[q]);
            c10 = Simd.Fma(x, b0, c10);
            if (TWidth.Two)
            {
                c11 = Simd.Fma(x, b1, c11);
            }

            x = Vector512.Create(a2[q]);
            c20 = Simd.Fma(x, b0, c20);
            if (TWidth.Two)
            {
                c21 = Simd.Fma(x, b1, c21);
            }

            x = Vector512.Create(a3[q]);
            c30 = Simd.Fma(x, b0, c30);
            if (TWidth.Two)
            {
                c31 = Simd.Fma(x, b1, c31);
            }

            x = Vector512.Create(a4[q]);
            c40 = Simd.Fma(x, b0, c40);
            if (TWidth.Two)
            {
                c41 = Simd.Fma(x, b1, c41);
            }

            x = Vector512.Create(a5[q]);
            c50 = Simd.Fma(x, b0, c50);
            if (TWidth.Two)
            {
                c51 = Simd.Fma(x, b1, c51);
            }

            x = Vector512.Create(a6[q]);
            c60 = Simd.Fma(x, b0, c60);
            if (TWidth.Two)
            {
                c61 = Simd.Fma(x, b1, c61);
            }

            x = Vector512.Create(a7[q]);
            c70 = Simd.Fma(x, b0, c70);
            if (TWidth.Two)
            {
                c71 = Simd.Fma(x, b1, c71);
            }

            x = Vector512.Create(a8[q]);
            c80 = Simd.Fma(x, b0, c80);
            if (TWidth.Two)
            {
                c81 = Simd.Fma(x, b1, c81);
            }

            x = Vector512.Create(a9[q]);
            c90 = Simd.Fma(x, b0, c90);
            if (TWidth.Two)
            {
                c91 = Simd.Fma(x, b1, c91);
            }

            x = Vector512.Create(aa[q]);
            ca0 = Simd.Fma(x, b0, ca0);
            if (TWidth.Two)
            {
                ca1 = Simd.Fma(x, b1, ca1);
            }

            x = Vector512.Create(ab[q]);
            cb0 = Simd.Fma(x, b0, cb0);
            if (TWidth.Two)
            {
                cb1 = Simd.Fma(x, b1, cb1);
            }
        }

        var full = rows == 12 && cols == nr && ldc > 0;
        var dst = full ? c : edge;
        var ld = full ? ldc : nr;
        var add = full && load;
        Put(dst, c00, add);
        if (TWidth.Two)
        {
            Put(dst + w, c01, add);
        }

        Put(dst + ld, c10, add);
        if (TWidth.Two)
        {
            Put(dst + ld + w, c11, add);
        }

        Put(dst + (2 * ld), c20, add);
        if (TWidth.Two)
        {
            Put(dst + (2 * ld) + w, c21, add);
        }

        Put(dst + (3 * ld), c30, add);
        if (TWidth.Two)
        {
            Put(dst + (3 * ld) + w, c31, add);
        }

        Put(dst + (4 * ld), c40, add);
        if (TWidth.Two)
        {
            Put(dst + (4 * ld) + w, c41, add);
        }

        Put(dst + (5 * ld), c50, add);
        if (TWidth.Two)
        {
            Put(dst + (5 * ld) + w, c51, add);
        }

        Put(dst + (6 * ld), c60, add);
        if (TWidth.Two)
        {
            Put(dst + (6 * ld) + w, c61, add);
        }

        Put(dst + (7 * ld), c70, add);
        if (TWidth.Two)
        {
            Put(dst + (7 * ld) + w, c71, add);
        }

        Put(dst + (8 * ld), c80, add);
        if (TWidth.Two)
        {
            Put(dst + (8 * ld) + w, c81, add);
        }

        Put(dst + (9 * ld), c90, add);
        if (TWidth.Two)
        {
            Put(dst + (9 * ld) + w, c91, add);
        }

        Put(dst + (10 * ld), ca0, add);
        if (TWidth.Two)
        {
            Put(dst + (10 * ld) + w, ca1, add);
        }

        Put(dst + (11 * ld), cb0, add);
        if (TWidth.Two)
        {
            Put(dst + (11 * ld) + w, cb1, add);
        }

        if (!full)
        {
            StoreEdge(edge, nr, c, ldc, load, rows, cols);
        }
    }

    /// <summary>
    /// AVX2 micro-kernel: C[6, NR] (+)= op(A)[6, depth] · Bpanel[depth, NR], NR = 2W (or W), W = 8 floats or 4
    /// doubles; 12 accumulators, 2 B vectors and one broadcast fill 15 of the 16 ymm registers.
    /// </summary>
    private static void Kernel6<T, TWidth>(T* a, nint lda, nint step, T* b, int depth, T* c, int ldc, bool load, int rows, int cols, T* edge)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TWidth : struct, IPanelWidth
    {
        var w = Vector256<T>.Count;
        var nr = TWidth.Two ? 2 * w : w;
        T* a0 = a, a1 = a + lda, a2 = a + (2 * lda), a3 = a + (3 * lda), a4 = a + (4 * lda), a5 = a + (5 * lda);
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint q = 0;
        for (var p = 0; p < depth; p++, q += step, b += nr)
        {
            var b0 = Vector256.Load(b);
            var b1 = TWidth.Two ? Vector256.Load(b + w) : default;
            var x = Vector256.Create(a0[q]);
            c00 = Simd.Fma(x, b0, c00);
            if (TWidth.Two)
            {
                c01 = Simd.Fma(x, b1, c01);
            }

            x = Vector256.Create(a1[q]);
            c10 = Simd.Fma(x, b0, c10);
            if (TWidth.Two)
            {
                c11 = Simd.Fma(x, b1, c11);
            }

            x = Vector256.Create(a2[q]);
            c20 = Simd.Fma(x, b0, c20);
            if (TWidth.Two)
            {
                c21 = Simd.Fma(x, b1, c21);
            }

            x = Vector256.Create(a3[q]);
            c30 = Simd.Fma(x, b0, c30);
            if (TWidth.Two)
            {
                c31 = Simd.Fma(x, b1, c31);
            }

            x = Vector256.Create(a4[q]);
            c40 = Simd.Fma(x, b0, c40);
            if (TWidth.Two)
            {
                c41 = Simd.Fma(x, b1, c41);
            }

            x = Vector256.Create(a5[q]);
            c50 = Simd.Fma(x, b0, c50);
            if (TWidth.Two)
            {
                c51 = Simd.Fma(x, b1, c51);
            }
        }

        var full = rows == 6 && cols == nr && ldc > 0;
        var dst = full ? c : edge;
        var ld = full ? ldc : nr;
        var add = full && load;
        Put(dst, c00, add);
        if (TWidth.Two)
        {
            Put(dst + w, c01, add);
        }

        Put(dst + ld, c10, add);
        if (TWidth.Two)
        {
            Put(dst + ld + w, c11, add);
        }

        Put(dst + (2 * ld), c20, add);
        if (TWidth.Two)
        {
            Put(dst + (2 * ld) + w, c21, add);
        }

        Put(dst + (3 * ld), c30, add);
        if (TWidth.Two)
        {
            Put(dst + (3 * ld) + w, c31, add);
        }

        Put(dst + (4 * ld), c40, add);
        if (TWidth.Two)
        {
            Put(dst + (4 * ld) + w, c41, add);
        }

        Put(dst + (5 * ld), c50, add);
        if (TWidth.Two)
        {
            Put(dst + (5 * ld) + w, c51, add);
        }

        if (!full)
        {
            StoreEdge(edge, nr, c, ldc, load, rows, cols);
        }
    }

    /// <summary>A B panel's width as a type, so each kernel is compiled for it with the unused half removed.</summary>
    private interface IPanelWidth
    {
        /// <summary>Gets whether the panel is two vectors wide (else one).</summary>
        static abstract bool Two { get; }
    }

    private readonly struct One : IPanelWidth
    {
        public static bool Two => false;
    }

    private readonly struct Two : IPanelWidth
    {
        static bool IPanelWidth.Two => true;
    }
}
