using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// Dense matrix multiply, row-major: C[m, n] (+)= op(A)[m, k] · op(B)[k, n], where op transposes A stored [k, m] or B
/// stored [n, k]. The structure is the Goto/BLIS one that MLAS and llm.c's CPU path follow:
/// <list type="bullet">
/// <item>On more than one thread the output is cut into tasks of up to <see cref="RowBlock"/> × <see cref="ColumnBlock"/>
/// (MC × NC), fewer and smaller only when that is needed to give every thread work; on one thread a task covers every
/// row (each row task packs all of B again, and MC bounds no cache level here: a task's packed B slice is what stays
/// in L2, its A is streamed once per depth block; the 50,257-deep head input gradient, 1,024 rows, ran 2–6 % faster
/// as one task than as 1,008 + 16 rows). Each task is written by one thread, and the depth is always walked in the
/// same blocks, so results do not depend on the thread count or on scheduling.</item>
/// <item>Per depth block of up to <see cref="DepthBlock"/> (KC; 2·KC where op(B) is at most
/// <see cref="DeepBlockPanels"/> panels wide), a task packs its slice of op(B) into panels NR
/// columns wide (KC × NR, contiguous, zero-padded, on a 64-byte boundary). A is read in place, MR rows at a time (as
/// rows, or transposed as columns). Packing is where transposes happen, so A·Bᵀ and Aᵀ·B never copy a whole matrix.</item>
/// <item>A micro-kernel keeps an MR × NR tile of C in registers and, per depth step, loads two vectors of B and
/// broadcasts MR values of A into 2·MR fused multiply-adds. With AVX-512 it is 12 × 32 floats (24 zmm accumulators
/// of the 32); on AVX2 it is 6 × 16 floats (12 ymm accumulators of the 16). Doubles run the same kernels with half
/// the columns. A B panel (KC × NR, 32 KiB for floats on AVX-512; 64 KiB in a 2·KC block) is read from L1 or L2
/// while the A block (MC × KC) streams from L2. A finished tile is written back row by row. Where a task's slice of op(B) is at most
/// four panels wide, so that few tiles use each panel of A read in place, those tiles prefetch the next panel's rows
/// into L1 as they run (the head's input gradient reads its 206 MB A from memory once).</item>
/// <item>Columns short of NR are computed on the zero padding and only their valid part is added to C. The last rows
/// of a matrix, short of MR, run as the fewest groups of three rows that cover them (3, 6 or 9 on AVX-512), read in
/// place from the rows that end the matrix: that tile overlaps the one before it and leaves the overlapped rows alone
/// (64 rows run as 5 × 12 + 6, not 6 × 12). Only a matrix shorter than that tile, and the AVX2 kernel, pack them
/// into a zero-padded MR-row panel.</item>
/// <item>The micro-kernels, packing and edge stores are compiled fully optimised on first use
/// (<see cref="MethodImplOptions.AggressiveOptimization"/>): under tiered compilation a kernel variant first met late
/// (the 6-row tile of a 64-row Aᵀ·B) ran its first-tier code, at about half speed, for hundreds of calls.</item>
/// <item>A B multiplied many times by unchanged values (a frozen weight) can be packed once, every depth block and
/// panel laid out as the tasks would pack them (<see cref="Pack{T}"/>); a product given that pack reads its slice
/// from it instead of packing, with the same bits as a result.</item>
/// <item>Narrow products, where padding would waste most lanes (LoRA's rank-r shapes), skip packing on AVX-512:
/// at most 16 rows (or, through Cᵀ, 16 columns with A transposed) go to <see cref="FewRows{T}"/>, which reads B's rows
/// in place; at most 8 columns with A row-major go to <see cref="DotRows{T}"/>, dot products along the depth, and so
/// do at most 8 rows against B stored [n, k] (a decode step's logits), through Cᵀ.</item>
/// </list>
/// </summary>
internal static unsafe class MatMul
{
    /// <summary>KC: the depth of one packed block.</summary>
    internal const int DepthBlock = 256;

    /// <summary>
    /// The most columns of op(B) (four NR panels: 128 floats on AVX-512) for which the depth blocks may be twice
    /// <see cref="DepthBlock"/> deep, in NR panels.
    /// </summary>
    internal const int DeepBlockPanels = 4;

    /// <summary>MC: the most rows of C one task covers when the product is shared out between threads.</summary>
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
    /// <paramref name="workers"/> share the work out (null: the calling thread alone).
    /// </summary>
    /// <remarks>
    /// <paramref name="packedB"/>, when given, must be <see cref="Pack{T}"/>'s copy of this very op(B) (same address,
    /// transpose, k and n); the product then reads its panels instead of packing B again. Routes that do not pack B
    /// (few rows or columns) read B in place as before.
    /// </remarks>
    public static void Gemm<T>(T* a, bool transA, T* b, bool transB, T* c, int m, int k, int n, bool accumulate, Workers? workers = null, PackedMatrix<T>? packedB = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(a, transA, transA ? m : k, b, transB, transB ? k : n, c, n, m, k, n, accumulate, workers, Best, Checked(packedB, b, transB, k, n));

    /// <summary>C[m, n] (+)= A[m, k] · B[k, n]; <paramref name="workers"/> share the work out (null: the calling thread alone); <paramref name="packedB"/> as in the overload with transposes.</summary>
    public static void Gemm<T>(T* a, T* b, T* c, int m, int k, int n, bool accumulate, Workers? workers = null, PackedMatrix<T>? packedB = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(a, false, k, b, false, n, c, n, m, k, n, accumulate, workers, Best, Checked(packedB, b, false, k, n));

    /// <summary>
    /// As <see cref="Gemm{T}(T*, bool, T*, bool, T*, int, int, int, bool, Workers, PackedMatrix{T})"/> on sub-matrices of larger row-major
    /// arrays: consecutive stored rows of A, B and C lie <paramref name="lda"/>, <paramref name="ldb"/> and
    /// <paramref name="ldc"/> elements apart (attention reads one head's columns out of rows holding every head).
    /// </summary>
    public static void Gemm<T>(T* a, bool transA, int lda, T* b, bool transB, int ldb, T* c, int ldc, int m, int k, int n, bool accumulate, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (lda < (transA ? m : k) || ldb < (transB ? k : n) || ldc < n)
        {
            throw new ArgumentOutOfRangeException(nameof(lda), $"Row strides {lda}, {ldb}, {ldc} are shorter than the rows of {m} × {k} × {n}.");
        }

        Gemm(a, transA, lda, b, transB, ldb, c, ldc, m, k, n, accumulate, workers, Best, null);
    }

    /// <summary>As the public overloads, on a chosen micro-kernel (tests force the AVX2 one on AVX-512 machines).</summary>
    internal static void Gemm<T>(T* a, bool transA, T* b, bool transB, T* c, int m, int k, int n, bool accumulate, Workers? workers, Kernel kernel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(a, transA, transA ? m : k, b, transB, transB ? k : n, c, n, m, k, n, accumulate, workers, kernel, null);

    /// <summary>As the public overloads with a pre-packed B, on a chosen micro-kernel (the pack is used only when it was made for that kernel).</summary>
    internal static void Gemm<T>(T* a, bool transA, T* b, bool transB, T* c, int m, int k, int n, bool accumulate, Workers? workers, Kernel kernel, PackedMatrix<T>? packedB)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Gemm(a, transA, transA ? m : k, b, transB, transB ? k : n, c, n, m, k, n, accumulate, workers, kernel, Checked(packedB, b, transB, k, n));

    /// <summary>
    /// Packs op(B)[k, n] (B stored [n, k] when <paramref name="transB"/>, rows contiguous) once, every depth block and
    /// every NR-column panel exactly as a product's tasks pack their slices, so later products by the same B (a frozen
    /// weight: LoRA's base, the head) skip that copy. <paramref name="workers"/> share the depth blocks out. The pack
    /// holds a copy: it is stale once B's values change.
    /// </summary>
    internal static PackedMatrix<T> Pack<T>(T* b, bool transB, int k, int n, Workers? workers = null, Kernel? kernel = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        var which = kernel ?? Best;
        var plan = new Plan<T>(null, false, k, b, transB, transB ? k : n, null, n, 1, k, n, false, which, 1, transposeC: false, packed: null);
        var panels = new PinnedBuffer<T>(PackedLength<T>(k, n, which));
        var item = new PackItem<T>(plan, b, panels.Pointer);
        var blocks = plan.DepthBlocks;
        if (workers is null || blocks == 1)
        {
            for (var block = 0; block < blocks; block++)
            {
                item.Run(block);
            }
        }
        else
        {
            workers.For(blocks, ref item);
        }

        return new PackedMatrix<T>(b, transB, k, n, which, panels);
    }

    /// <summary>Gets the elements <see cref="Pack{T}"/> holds for op(B)[k, n] on <paramref name="kernel"/> (default: the best): every depth row of n padded to whole NR-column panels.</summary>
    internal static long PackedLength<T>(int k, int n, Kernel? kernel = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var nr = 2 * ((kernel ?? Best) == Kernel.Avx512 ? Vector512<T>.Count : Vector256<T>.Count);
        return (long)k * ((n + nr - 1) / nr) * nr;
    }

    /// <summary>One depth block of <see cref="Pack{T}"/> per piece.</summary>
    private readonly struct PackItem<T>(Plan<T> plan, T* b, T* panels) : IWorkItem
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Run(int index) => plan.PackDepthBlock(b, panels, index);
    }

    private static PackedMatrix<T>? Checked<T>(PackedMatrix<T>? packed, T* b, bool transB, int k, int n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (packed is not null && (packed.Source != b || packed.Transposed != transB || packed.Depth != k || packed.Columns != n))
        {
            throw new ArgumentException($"The packed B ({packed.Depth} × {packed.Columns}, transposed {packed.Transposed}) is not op(B) of this product ({k} × {n}, transposed {transB}) or was packed from another address.", "packedB");
        }

        return packed;
    }

    private static void Gemm<T>(T* a, bool transA, int lda, T* b, bool transB, int ldb, T* c, int ldc, int m, int k, int n, bool accumulate, Workers? workers, Kernel kernel, PackedMatrix<T>? packedB)
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

        var route = RouteOf<T>(m, k, n, transA, transB, kernel);
        switch (route)
        {
            case Route.FewRows:
                FewRows(a, transA ? 1 : lda, transA ? lda : 1, b, ldb, c, ldc, 1, m, k, n, accumulate, workers);
                return;
            case Route.FewRowsOfCt:
                // Cᵀ = op(B)ᵀ · Aᵀ with A stored [k, m] read by rows: op(B)ᵀ[j, p] = op(B)[p, j]; Cᵀ's (j, i) is C's (i, j).
                FewRows(b, transB ? ldb : 1, transB ? 1 : ldb, a, lda, c, 1, ldc, n, k, m, accumulate, workers);
                return;
            case Route.DotRows when transB:
                DotRows(a, lda, b, ldb, c, ldc, 1, m, k, n, accumulate, workers);
                return;
            case Route.DotRows:
                // B stored [k, n]: its n columns become rows of a small scratch copy first (n · k values, this thread's).
                var bt = Scratch<T>.Columns(n * k);
                for (var p = 0; p < k; p++)
                {
                    for (var j = 0; j < n; j++)
                    {
                        bt[((long)j * k) + p] = b[(p * (long)ldb) + j];
                    }
                }

                DotRows(a, lda, bt, k, c, ldc, 1, m, k, n, accumulate, workers);
                return;
            case Route.DotRowsOfCt:
                // A few rows against B stored [n, k] (a decode step's logits, x·Wᵀ over the vocabulary): Cᵀ = B·Aᵀ as dot
                // products, reading each row of B once in place. The packed plan would copy all of B into panels and run
                // its 32-column tiles on one column of Cᵀ.
                DotRows(b, ldb, a, lda, c, 1, ldc, n, k, m, accumulate, workers);
                return;
        }

        var threads = ThreadsFor(workers, m, k, n);
        var packed = packedB is not null && packedB.Kernel == kernel ? packedB.Panels.Pointer : null;
        var plan = route == Route.PackedCt
            ? new Plan<T>(b, !transB, ldb, a, !transA, lda, c, ldc, n, k, m, accumulate, kernel, threads, transposeC: true, packed: null)
            : new Plan<T>(a, transA, lda, b, transB, ldb, c, ldc, m, k, n, accumulate, kernel, threads, transposeC: false, packed);
        if (plan.Tasks == 1 || threads == 1)
        {
            for (var task = 0; task < plan.Tasks; task++)
            {
                plan.Run(task);
            }

            return;
        }

        workers!.For(plan.Tasks, ref plan);
    }

    /// <summary>Which way a product is computed (<see cref="RouteOf{T}"/>).</summary>
    private enum Route
    {
        /// <summary><see cref="FewRows{T}"/> on C.</summary>
        FewRows,

        /// <summary><see cref="FewRows{T}"/> on Cᵀ.</summary>
        FewRowsOfCt,

        /// <summary><see cref="DotRows{T}"/> on C.</summary>
        DotRows,

        /// <summary><see cref="DotRows{T}"/> on Cᵀ.</summary>
        DotRowsOfCt,

        /// <summary>The packed plan on Cᵀ (B's role taken by A, so a packed B is not used).</summary>
        PackedCt,

        /// <summary>The packed plan on C, the only route that reads a <see cref="PackedMatrix{T}"/>.</summary>
        Packed,
    }

    /// <summary>
    /// Gets whether a product of these dimensions and transposes would read a pre-packed B (<see cref="Pack{T}"/>) on
    /// the best kernel; the others read B in place, so packing it for them would only cost memory.
    /// </summary>
    internal static bool ReadsPackedB<T>(int m, int k, int n, bool transA, bool transB)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => m > 0 && k > 0 && n > 0 && RouteOf<T>(m, k, n, transA, transB, Best) == Route.Packed;

    /// <summary>
    /// Chooses the route for a product with m, k, n &gt; 0. Narrow products skip packing on AVX-512 (see the class
    /// remarks). Few rows and more columns: compute Cᵀ = op(B)ᵀ · op(A)ᵀ instead, so the short side lies along the
    /// vectors of a (narrow) B panel rather than along MR rows that would mostly be padding; those tiles are stored
    /// transposed.
    /// </summary>
    private static Route RouteOf<T>(int m, int k, int n, bool transA, bool transB, Kernel kernel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var wide = kernel == Kernel.Avx512;
        if (wide && m <= FewRowsMax && n >= m && !transB)
        {
            return Route.FewRows;
        }

        if (wide && n <= FewRowsMax && m > n && transA)
        {
            return Route.FewRowsOfCt;
        }

        if (wide && n <= DotColumnsMax && m > n && !transA && k >= Vector512<T>.Count)
        {
            return Route.DotRows;
        }

        if (wide && m <= DotColumnsMax && n > m && !transA && transB && k >= Vector512<T>.Count)
        {
            return Route.DotRowsOfCt;
        }

        var width = wide ? Vector512<T>.Count : Vector256<T>.Count;
        return m <= width && n > m ? Route.PackedCt : Route.Packed;
    }

    /// <summary>Gets the threads a product of m·k·n multiply-adds uses: 1 below <see cref="Workers.MinParallelWork"/>, else all of <paramref name="workers"/>.</summary>
    private static int ThreadsFor(Workers? workers, int m, int k, int n)
        => workers is null || (long)m * k * n < workers.MinParallelWork ? 1 : workers.Count;

    /// <summary>Gets the most rows (after the Cᵀ swap) that <see cref="FewRows{T}"/> takes.</summary>
    private const int FewRowsMax = 16;

    /// <summary>
    /// Few-row products on AVX-512 (LoRA's rank-r weight gradients: dA = dhᵀ·x with m = r, and dB = doutᵀ·h as its
    /// transpose): C[m, n] (+)= op(A)[m, k] · B[k, n], m ≤ <see cref="FewRowsMax"/>, with op(A)[i, p] at a[i·ai + p·ap],
    /// B's rows <paramref name="ldb"/> apart and C's element (i, j) at c[i·ci + j·cj]. Nothing is packed: per four rows
    /// and four vectors of columns (16 accumulators), each depth step loads four vectors straight from B's row p and
    /// broadcasts four values of A, so no lane holds padding (the packed kernel would run 12 rows for r = 4, or put the
    /// 4 columns of Cᵀ in 16 lanes). Columns past the last whole vector run one at a time.
    /// </summary>
    private static void FewRows<T>(T* a, nint ai, nint ap, T* b, nint ldb, T* c, nint ci, nint cj, int m, int k, int n, bool accumulate, Workers? workers)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var item = new FewRowsItem<T>(a, ai, ap, b, ldb, c, ci, cj, m, k, n, accumulate);
        var blocks = (n + FewRowsItem<T>.Block - 1) / FewRowsItem<T>.Block;
        if (blocks == 1 || ThreadsFor(workers, m, k, n) == 1)
        {
            for (var jb = 0; jb < blocks; jb++)
            {
                item.Run(jb);
            }

            return;
        }

        workers!.For(blocks, ref item);
    }

    /// <summary>One block of 4 vectors of columns of <see cref="FewRows{T}"/> per piece.</summary>
    private readonly struct FewRowsItem<T>(T* a, nint ai, nint ap, T* b, nint ldb, T* c, nint ci, nint cj, int m, int k, int n, bool accumulate) : IWorkItem
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static int Block => 4 * Vector512<T>.Count;

        public void Run(int index) => FewRowsBlock(a, ai, ap, b, ldb, c, ci, cj, m, k, index * Block, Math.Min(Block, n - (index * Block)), accumulate);
    }

    /// <summary>Columns j0 … j0 + cols of <see cref="FewRows{T}"/>, four rows at a time (rows past m repeat row m − 1 and are dropped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewRowsBlock<T>(T* a, nint ai, nint ap, T* b, nint ldb, T* c, nint ci, nint cj, int m, int k, int j0, int cols, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var w = Vector512<T>.Count;
        var tile = stackalloc T[4 * 4 * Vector512<T>.Count];
        for (var i0 = 0; i0 < m; i0 += 4)
        {
            var rows = Math.Min(4, m - i0);
            T* r0 = a + (i0 * ai), r1 = a + (Math.Min(i0 + 1, m - 1) * ai), r2 = a + (Math.Min(i0 + 2, m - 1) * ai), r3 = a + (Math.Min(i0 + 3, m - 1) * ai);
            var j = 0;
            if (cols == 4 * w)
            {
                Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
                Vector512<T> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
                var bp = b + j0;
                nint q = 0;
                for (var p = 0; p < k; p++, q += ap, bp += ldb)
                {
                    var b0 = Vector512.Load(bp);
                    var b1 = Vector512.Load(bp + w);
                    var b2 = Vector512.Load(bp + (2 * w));
                    var b3 = Vector512.Load(bp + (3 * w));
                    var x = Vector512.Create(r0[q]);
                    c00 = Simd.Fma(x, b0, c00);
                    c01 = Simd.Fma(x, b1, c01);
                    c02 = Simd.Fma(x, b2, c02);
                    c03 = Simd.Fma(x, b3, c03);
                    x = Vector512.Create(r1[q]);
                    c10 = Simd.Fma(x, b0, c10);
                    c11 = Simd.Fma(x, b1, c11);
                    c12 = Simd.Fma(x, b2, c12);
                    c13 = Simd.Fma(x, b3, c13);
                    x = Vector512.Create(r2[q]);
                    c20 = Simd.Fma(x, b0, c20);
                    c21 = Simd.Fma(x, b1, c21);
                    c22 = Simd.Fma(x, b2, c22);
                    c23 = Simd.Fma(x, b3, c23);
                    x = Vector512.Create(r3[q]);
                    c30 = Simd.Fma(x, b0, c30);
                    c31 = Simd.Fma(x, b1, c31);
                    c32 = Simd.Fma(x, b2, c32);
                    c33 = Simd.Fma(x, b3, c33);
                }

                var ld = 4 * w;
                c00.Store(tile);
                c01.Store(tile + w);
                c02.Store(tile + (2 * w));
                c03.Store(tile + (3 * w));
                c10.Store(tile + ld);
                c11.Store(tile + ld + w);
                c12.Store(tile + ld + (2 * w));
                c13.Store(tile + ld + (3 * w));
                c20.Store(tile + (2 * ld));
                c21.Store(tile + (2 * ld) + w);
                c22.Store(tile + (2 * ld) + (2 * w));
                c23.Store(tile + (2 * ld) + (3 * w));
                c30.Store(tile + (3 * ld));
                c31.Store(tile + (3 * ld) + w);
                c32.Store(tile + (3 * ld) + (2 * w));
                c33.Store(tile + (3 * ld) + (3 * w));
                j = cols;
            }
            else
            {
                // A ragged last block: one column at a time.
                for (; j < cols; j++)
                {
                    T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
                    var bp = b + j0 + j;
                    nint q = 0;
                    for (var p = 0; p < k; p++, q += ap, bp += ldb)
                    {
                        var bv = *bp;
                        s0 += r0[q] * bv;
                        s1 += r1[q] * bv;
                        s2 += r2[q] * bv;
                        s3 += r3[q] * bv;
                    }

                    (tile[j], tile[(4 * w) + j], tile[(8 * w) + j], tile[(12 * w) + j]) = (s0, s1, s2, s3);
                }
            }

            for (var r = 0; r < rows; r++)
            {
                var dst = c + ((i0 + r) * ci) + (j0 * cj);
                var src = tile + (r * 4 * w);
                if (cj == 1)
                {
                    var row = new Span<T>(dst, cols);
                    var values = new ReadOnlySpan<T>(src, cols);
                    if (accumulate)
                    {
                        TensorPrimitives.Add(row, values, row);
                    }
                    else
                    {
                        values.CopyTo(row);
                    }

                    continue;
                }

                for (var jj = 0; jj < cols; jj++)
                {
                    ref var at = ref dst[jj * cj];
                    at = accumulate ? at + src[jj] : src[jj];
                }
            }
        }
    }

    /// <summary>
    /// Gets the most columns <see cref="DotRows{T}"/> takes: up to 8 it beats a 16-lane panel holding 8 or fewer
    /// columns; at 16 the packed kernel's full panel wins (measured: rank-16 x·Aᵀ 64 GFLOP/s packed, 28 as dot products).
    /// </summary>
    private const int DotColumnsMax = 8;

    /// <summary>
    /// Products with few columns on AVX-512 (LoRA's h = x·Aᵀ and dh = dout·B with n = r ≤ 8, and, as Cᵀ, a decode step's
    /// logits x·Wᵀ with m ≤ 8 rows): C[m, n] (+)= A[m, k] · Bᵀ, with A's rows <paramref name="lda"/> apart and B stored
    /// [n, k] (rows <paramref name="ldb"/> apart), C's element (i, j) at c[i·<paramref name="ci"/> + j·<paramref name="cj"/>],
    /// n ≤ <see cref="DotColumnsMax"/>. Each element is a dot product along the depth, where
    /// both operands are contiguous: per four rows × four columns, 16 accumulators each take one vector of A's row
    /// times one vector of B's row per step, and are summed across their lanes at the end, so no lane is padding (the
    /// packed kernel would put r = 4 columns in a 16-lane panel).
    /// </summary>
    private static void DotRows<T>(T* a, nint lda, T* b, nint ldb, T* c, nint ci, nint cj, int m, int k, int n, bool accumulate, Workers? workers)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var item = new DotRowsItem<T>(a, lda, b, ldb, c, ci, cj, m, k, n, accumulate);
        var tasks = (m + DotRowsItem<T>.Rows - 1) / DotRowsItem<T>.Rows;
        if (tasks == 1 || ThreadsFor(workers, m, k, n) == 1)
        {
            for (var task = 0; task < tasks; task++)
            {
                item.Run(task);
            }

            return;
        }

        workers!.For(tasks, ref item);
    }

    /// <summary>One block of 64 rows of <see cref="DotRows{T}"/> per piece.</summary>
    private readonly struct DotRowsItem<T>(T* a, nint lda, T* b, nint ldb, T* c, nint ci, nint cj, int m, int k, int n, bool accumulate) : IWorkItem
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public const int Rows = 64;

        public void Run(int index) => DotRowsTask(a, lda, b, ldb, c, ci, cj, index * Rows, Math.Min(Rows, m - (index * Rows)), k, n, accumulate);
    }

    /// <summary>Rows first … first + rows of <see cref="DotRows{T}"/>, in 4 × 4 tiles.</summary>
    private static void DotRowsTask<T>(T* a, nint lda, T* b, nint ldb, T* c, nint ci, nint cj, int first, int rows, int k, int n, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var i0 = 0; i0 < rows; i0 += 4)
        {
            for (var j0 = 0; j0 < n; j0 += 4)
            {
                DotTile(a + ((first + i0) * lda), lda, Math.Min(4, rows - i0), b + (j0 * ldb), ldb, Math.Min(4, n - j0), k, c + ((first + i0) * ci) + (j0 * cj), ci, cj, accumulate);
            }
        }
    }

    /// <summary>Up to 4 × 4 dot products of <see cref="DotRows{T}"/> (missing rows or columns repeat the last and are dropped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTile<T>(T* a, nint lda, int rows, T* b, nint ldb, int cols, int k, T* c, nint ci, nint cj, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var w = Vector512<T>.Count;
        T* a0 = a, a1 = a + (Math.Min(1, rows - 1) * lda), a2 = a + (Math.Min(2, rows - 1) * lda), a3 = a + (Math.Min(3, rows - 1) * lda);
        T* b0 = b, b1 = b + (Math.Min(1, cols - 1) * ldb), b2 = b + (Math.Min(2, cols - 1) * ldb), b3 = b + (Math.Min(3, cols - 1) * ldb);
        Vector512<T> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<T> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        var p = 0;
        for (; p <= k - w; p += w)
        {
            var x0 = Vector512.Load(a0 + p);
            var x1 = Vector512.Load(a1 + p);
            var x2 = Vector512.Load(a2 + p);
            var x3 = Vector512.Load(a3 + p);
            var y = Vector512.Load(b0 + p);
            s00 = Simd.Fma(x0, y, s00);
            s10 = Simd.Fma(x1, y, s10);
            s20 = Simd.Fma(x2, y, s20);
            s30 = Simd.Fma(x3, y, s30);
            y = Vector512.Load(b1 + p);
            s01 = Simd.Fma(x0, y, s01);
            s11 = Simd.Fma(x1, y, s11);
            s21 = Simd.Fma(x2, y, s21);
            s31 = Simd.Fma(x3, y, s31);
            y = Vector512.Load(b2 + p);
            s02 = Simd.Fma(x0, y, s02);
            s12 = Simd.Fma(x1, y, s12);
            s22 = Simd.Fma(x2, y, s22);
            s32 = Simd.Fma(x3, y, s32);
            y = Vector512.Load(b3 + p);
            s03 = Simd.Fma(x0, y, s03);
            s13 = Simd.Fma(x1, y, s13);
            s23 = Simd.Fma(x2, y, s23);
            s33 = Simd.Fma(x3, y, s33);
        }

        var sums = stackalloc T[16];
        if (typeof(T) == typeof(float))
        {
            Sums16(s00.AsSingle(), s01.AsSingle(), s02.AsSingle(), s03.AsSingle(), s10.AsSingle(), s11.AsSingle(), s12.AsSingle(), s13.AsSingle(), s20.AsSingle(), s21.AsSingle(), s22.AsSingle(), s23.AsSingle(), s30.AsSingle(), s31.AsSingle(), s32.AsSingle(), s33.AsSingle()).As<float, T>().Store(sums);
        }
        else
        {
            sums[0] = Vector512.Sum(s00);
            sums[1] = Vector512.Sum(s01);
            sums[2] = Vector512.Sum(s02);
            sums[3] = Vector512.Sum(s03);
            sums[4] = Vector512.Sum(s10);
            sums[5] = Vector512.Sum(s11);
            sums[6] = Vector512.Sum(s12);
            sums[7] = Vector512.Sum(s13);
            sums[8] = Vector512.Sum(s20);
            sums[9] = Vector512.Sum(s21);
            sums[10] = Vector512.Sum(s22);
            sums[11] = Vector512.Sum(s23);
            sums[12] = Vector512.Sum(s30);
            sums[13] = Vector512.Sum(s31);
            sums[14] = Vector512.Sum(s32);
            sums[15] = Vector512.Sum(s33);
        }

        for (; p < k; p++)
        {
            T x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p], y0 = b0[p], y1 = b1[p], y2 = b2[p], y3 = b3[p];
            sums[0] += x0 * y0;
            sums[1] += x0 * y1;
            sums[2] += x0 * y2;
            sums[3] += x0 * y3;
            sums[4] += x1 * y0;
            sums[5] += x1 * y1;
            sums[6] += x1 * y2;
            sums[7] += x1 * y3;
            sums[8] += x2 * y0;
            sums[9] += x2 * y1;
            sums[10] += x2 * y2;
            sums[11] += x2 * y3;
            sums[12] += x3 * y0;
            sums[13] += x3 * y1;
            sums[14] += x3 * y2;
            sums[15] += x3 * y3;
        }

        for (var r = 0; r < rows; r++)
        {
            for (var j = 0; j < cols; j++)
            {
                ref var at = ref c[(r * ci) + (j * cj)];
                at = accumulate ? at + sums[(r * 4) + j] : sums[(r * 4) + j];
            }
        }
    }

    /// <summary>
    /// The lane sums of 16 vectors as one vector (lane i: the sum of vi's 16 lanes), in three rounds of shuffles and
    /// adds (45 instructions; 16 separate horizontal sums take about three times as many): pairs within each 128-bit
    /// lane, then fours within each 128-bit lane, then across the four 128-bit lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Sums16(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3, Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7,
        Vector512<float> v8, Vector512<float> v9, Vector512<float> v10, Vector512<float> v11, Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15)
    {
        // Per 128-bit lane of (x, y): [x0 + x2, y0 + y2, x1 + x3, y1 + y3].
        static Vector512<float> Pairs(Vector512<float> x, Vector512<float> y) => Avx512F.UnpackLow(x, y) + Avx512F.UnpackHigh(x, y);

        // Per 128-bit lane of two pair sums (x from v, w; y from v', w'): [v, w, v', w'].
        static Vector512<float> Fours(Vector512<float> x, Vector512<float> y) => Avx512F.Shuffle(x, y, 0x44) + Avx512F.Shuffle(x, y, 0xEE);

        // Across 128-bit lanes: [x's lanes 0 + 2, 1 + 3, y's lanes 0 + 2, 1 + 3].
        static Vector512<float> Halves(Vector512<float> x, Vector512<float> y) => Avx512F.Shuffle4x128(x, y, 0x44) + Avx512F.Shuffle4x128(x, y, 0xEE);

        var b0 = Fours(Pairs(v0, v1), Pairs(v2, v3));
        var b1 = Fours(Pairs(v4, v5), Pairs(v6, v7));
        var b2 = Fours(Pairs(v8, v9), Pairs(v10, v11));
        var b3 = Fours(Pairs(v12, v13), Pairs(v14, v15));
        var e01 = Halves(b0, b1);
        var e23 = Halves(b2, b3);
        return Avx512F.Shuffle4x128(e01, e23, 0x88) + Avx512F.Shuffle4x128(e01, e23, 0xDD);
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
    private readonly struct Plan<T> : IWorkItem
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
        private readonly nint _packed;
        private readonly int _panelsAll;

        /// <summary>
        /// Plans C (+)= op(A) · op(B) with stored rows lda, ldb, ldc apart; with <paramref name="transposeC"/> the plan
        /// computes Cᵀ (m and n are Cᵀ's), writing element (i, j) to c[j · ldc + i]. A non-null <paramref name="packed"/>
        /// holds all of op(B) as <see cref="PackDepthBlock"/> lays it out; the tasks then read it instead of packing.
        /// </summary>
        public Plan(T* a, bool transA, int lda, T* b, bool transB, int ldb, T* c, int ldc, int m, int k, int n, bool accumulate, Kernel kernel, int threads, bool transposeC, T* packed)
        {
            (_a, _b, _c, _transA, _transB, _m, _k, _n, _accumulate, _kernel) = ((nint)a, (nint)b, (nint)c, transA, transB, m, k, n, accumulate, kernel);
            (_lda, _ldb, _ldc, _transC, _packed) = (lda, ldb, ldc, transposeC, (nint)packed);
            var width = kernel == Kernel.Avx512 ? Vector512<T>.Count : Vector256<T>.Count;
            _mr = kernel == Kernel.Avx512 ? 12 : 6;
            _nr = 2 * width;
            _panelsAll = Count(n, _nr);

            // Equal depth blocks of at most KC (k = 300 gives 2 × 150, not 256 + 44), or 2·KC where op(B) is at most
            // four panels wide: there each depth block's reload and store of every C tile, and the kernel's set-up,
            // cost a larger share of its work, and the whole B slice of a block (at most 256 KiB) still sits in L2.
            // Measured on one Zen 5 core: 1024 × 384 × 16 (LoRA's dh) 170–177 → 181–188 GFLOP/s, 1024 × 4096 × 128 (the
            // head's input gradient, shortened) +6 %, 1024 × 384 × 64 and 128 +2–4 %; Aᵀ·B unchanged. Depends on k and
            // n only, so neither the thread count nor a pre-packed B (packed with the same blocks) changes a result.
            var kcMax = n <= DeepBlockPanels * _nr ? 2 * DepthBlock : DepthBlock;
            var depthBlocks = (k + kcMax - 1) / kcMax;
            _kc = (k + depthBlocks - 1) / depthBlocks;

            // Tasks as large as MC × NC. When that leaves fewer than two per thread, the cut into at most two per
            // thread that gives the busiest thread the fewest micro-tiles (the last task of a row or column is
            // ragged); on a tie, the one repeating less memory traffic: each extra row chunk packs the same B again
            // (k·n values), each extra column chunk reads all of A again (m·k). The cut changes which thread writes a
            // tile, never the order of one element's sums, so results do not depend on the thread count.
            var (chunksM, chunksN) = (threads > 1 ? Count(m, RowBlock) : 1, Count(n, ColumnBlock));
            if (threads > 1 && chunksM * chunksN < 2 * threads)
            {
                var (bestCost, bestTraffic, baseM, baseN) = (long.MaxValue, long.MaxValue, chunksM, chunksN);
                for (var cm = baseM; cm <= 2 * threads; cm++)
                {
                    for (var cn = baseN; cm * cn <= 2 * threads; cn++)
                    {
                        int mc = RoundUp(Count(m, cm), _mr), nc = RoundUp(Count(n, cn), _nr);
                        int tasksM = Count(m, mc), tasksN = Count(n, nc);
                        var cost = (long)Count(tasksM * tasksN, threads) * Count(mc, _mr) * Count(nc, _nr);
                        var traffic = ((long)(tasksM - 1) * n) + ((long)(tasksN - 1) * m);
                        if (cost < bestCost || (cost == bestCost && traffic < bestTraffic))
                        {
                            (bestCost, bestTraffic, chunksM, chunksN) = (cost, traffic, cm, cn);
                        }
                    }
                }
            }

            _mc = RoundUp(Count(m, chunksM), _mr);
            _nc = RoundUp(Count(n, chunksN), _nr);
            _tilesN = Count(n, _nc);
            Tasks = Count(m, _mc) * _tilesN;
        }

        public int Tasks { get; }

        /// <summary>Gets the number of depth blocks (KC deep, the last possibly shorter).</summary>
        public int DepthBlocks => Count(_k, _kc);

        /// <summary>
        /// Packs depth block <paramref name="block"/> of all of op(B) to <paramref name="dst"/> + p0 · (all panels · NR):
        /// the same panels, in the same order, as a task starting at any column multiple of NR packs for itself, so a
        /// task's slice starts j0 · depth further on.
        /// </summary>
        public void PackDepthBlock(T* b, T* dst, int block)
        {
            var p0 = block * _kc;
            PackB(b, dst + ((long)p0 * _panelsAll * _nr), p0, Math.Min(_kc, _k - p0), 0, _n);
        }

        /// <summary>
        /// Computes the tile of task <paramref name="task"/> over the whole depth: per depth block, packs its B slice
        /// once, then walks A in MR-row panels (read in place; a short last panel as a shorter overlapping tile,
        /// packed only where the matrix is shorter than that tile, or on AVX2) across every B panel.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            var i0 = task / _tilesN * _mc;
            var j0 = task % _tilesN * _nc;
            var rows = Math.Min(_mc, _m - i0);
            var cols = Math.Min(_nc, _n - j0);
            var panelsM = Count(rows, _mr);
            var panelsN = Count(cols, _nr);
            var packA = Scratch<T>.A(_mr * _kc);
            T* a = (T*)_a, b = (T*)_b, c = (T*)_c, packed = (T*)_packed;
            var packB = packed is null ? Scratch<T>.B(panelsN * _nr * _kc) : null;
            var edge = Scratch<T>.Edge(_mr * _nr);
            for (var p0 = 0; p0 < _k; p0 += _kc)
            {
                var depth = Math.Min(_kc, _k - p0);
                if (packed is null)
                {
                    PackB(b, packB, p0, depth, j0, cols);
                }
                else
                {
                    packB = packed + ((long)p0 * _panelsAll * _nr) + ((long)j0 * depth);
                }

                var load = _accumulate || p0 > 0;
                for (var ip = 0; ip < panelsM; ip++)
                {
                    var i = i0 + (ip * _mr);
                    var validRows = Math.Min(_mr, _m - i);

                    // A last panel short of MR rows: on AVX-512 the fewest groups of three rows that cover it, read in
                    // place from the rows that end at m (the tile starts `skip` rows higher, overlapping the panel
                    // before, and leaves those rows alone); packed with zero rows where the matrix is shorter than that
                    // tile, and on AVX2.
                    var groups = Count(validRows, 3);
                    var inPlace = validRows == _mr || (_kernel == Kernel.Avx512 && 3 * groups <= _m);
                    var skip = inPlace && validRows < _mr ? (3 * groups) - validRows : 0;
                    var top = i - skip;

                    // op(A)[top + r, p0 + q] sits at ap[r · lda + q · step].
                    T* ap;
                    nint lda, step;
                    if (!inPlace)
                    {
                        PackA(a, packA, i, validRows, p0, depth);
                        ap = packA;
                        (lda, step) = (1, _mr);
                    }
                    else if (_transA)
                    {
                        ap = a + (p0 * _lda) + top;
                        (lda, step) = (1, _lda);
                    }
                    else
                    {
                        ap = a + (top * _lda) + p0;
                        (lda, step) = (_lda, 1);
                    }

                    // A full panel read in place, with a full panel after it in this task, that at most four tiles
                    // use: while each of those tiles runs it fetches three rows of the next panel's depth block into
                    // L1, a line every 16 depth steps. Where A streams from memory (the head's input gradient reads
                    // 206 MB of probabilities once) the next panel then no longer waits on it: 1,024 × 50,257 × 128
                    // with B packed once, alternated on one Zen 5 core, 0.958–0.983 × the time (five runs), 0.988 × on
                    // two threads; with A in cache (1,024 × 128…512 × 128…384) 0.99–1.01 ×. Not for wider B, whose
                    // many tiles per panel already hide the fetch: SmolLM2-135M's 256 × 576 × 960 and 256 × 49,152 ×
                    // 576 took 1.007–1.014 × with it. All 12 rows in one burst before the tiles instead: 1.08–1.10 ×
                    // (the fetches filled the miss buffers the tile's own loads needed); into L2 rather than L1:
                    // 0.97–1.01 ×; two or three panels ahead instead of one: no different.
                    var next = panelsN <= 4 && _kernel == Kernel.Avx512 && inPlace && !_transA && validRows == _mr && i + (2 * _mr) <= i0 + rows
                        ? (byte*)(a + ((long)(i + _mr) * _lda) + p0)
                        : null;
                    for (var jp = 0; jp < panelsN; jp++)
                    {
                        var bp = packB + ((long)jp * _nr * depth);
                        var j = j0 + (jp * _nr);
                        var validCols = Math.Min(_nr, _n - j);
                        // C[i, j], or with C transposed C[j, i]; a transposed tile always goes through the edge path.
                        var tile = _transC ? c + ((long)j * _ldc) + top : c + ((long)top * _ldc) + j;
                        var ldc = _transC ? -_ldc : _ldc;
                        var wide = PanelWidth(jp, cols) == _nr;
                        switch (_kernel, wide)
                        {
                            case (Kernel.Avx512, true) when next is not null:
                                Kernel12<T, Two, Rows12, FetchNext>(ap, lda, step, bp, depth, tile, ldc, load, skip, skip + validRows, validCols, edge, next + ((long)3 * jp * _lda * sizeof(T)));
                                break;
                            case (Kernel.Avx512, true):
                                Kernel12<T, Two>(groups, ap, lda, step, bp, depth, tile, ldc, load, skip, skip + validRows, validCols, edge);
                                break;
                            case (Kernel.Avx512, false):
                                Kernel12<T, One>(groups, ap, lda, step, bp, depth, tile, ldc, load, skip, skip + validRows, validCols, edge);
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
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackB(T* b, T* dst, int p0, int depth, int j0, int cols)
        {
            if (!_transB)
            {
                // Stored [k, n]: each depth row of B is read once, front to back, and its runs of NR values go to
                // their panels, whole runs as vectors. Panel by panel with a copy call per run, as before, the head's
                // input gradient (1,024 × 50,257 × 128, B packed by each row task) took 4 % longer on one Zen 5 core
                // and 10 % longer on two.
                var w = Vector256<T>.Count;
                for (var p = 0; p < depth; p++)
                {
                    var src = b + ((p0 + p) * _ldb) + j0;
                    for (var panel = 0; panel * _nr < cols; panel++)
                    {
                        var nr = PanelWidth(panel, cols);
                        var d = dst + ((long)panel * _nr * depth) + ((long)p * nr);
                        var first = panel * _nr;
                        var valid = Math.Min(nr, _n - j0 - first);
                        if (valid == nr)
                        {
                            for (var j = 0; j < nr; j += w)
                            {
                                Vector256.Store(Vector256.Load(src + first + j), d + j);
                            }
                        }
                        else
                        {
                            new ReadOnlySpan<T>(src + first, valid).CopyTo(new Span<T>(d, valid));
                            new Span<T>(d + valid, nr - valid).Clear();
                        }
                    }
                }

                return;
            }

            for (var panel = 0; panel * _nr < cols; panel++)
            {
                var nr = PanelWidth(panel, cols);
                var d = dst + ((long)panel * _nr * depth);
                var first = j0 + (panel * _nr);
                var valid = Math.Min(nr, _n - first);

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

                    // Four steps left (all of a rank-4 LoRA factor's depth): four at a time the same way (1,024 × 4 × 384,
                    // A·Bᵀ: 3 % faster on one core, 6 % on two, than one value at a time).
                    for (; p + 4 <= depth; p += 4)
                    {
                        for (var j = 0; j < nr; j += 8)
                        {
                            Transpose8x4((float*)(src + (j * _ldb) + p), _ldb, (float*)(d + ((long)p * nr) + j), nr);
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
        }
    }

    /// <summary>dst[r · ldd + c] = src[c · lds + r] for an 8 × 8 block of floats (unpack, shuffle, then swap 128-bit halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>dst[r · ldd + c] = src[c · lds + r] for 8 rows of 4 floats (src) into 4 rows of 8 (dst): rows c and c + 4 share a 256-bit register, then a 4 × 4 transpose within each 128-bit half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose8x4(float* src, nint lds, float* dst, nint ldd)
    {
        var v0 = Vector256.Create(Sse.LoadVector128(src), Sse.LoadVector128(src + (4 * lds)));
        var v1 = Vector256.Create(Sse.LoadVector128(src + lds), Sse.LoadVector128(src + (5 * lds)));
        var v2 = Vector256.Create(Sse.LoadVector128(src + (2 * lds)), Sse.LoadVector128(src + (6 * lds)));
        var v3 = Vector256.Create(Sse.LoadVector128(src + (3 * lds)), Sse.LoadVector128(src + (7 * lds)));
        var t0 = Avx.UnpackLow(v0, v1);
        var t1 = Avx.UnpackHigh(v0, v1);
        var t2 = Avx.UnpackLow(v2, v3);
        var t3 = Avx.UnpackHigh(v2, v3);
        Avx.Store(dst, Avx.Shuffle(t0, t2, 0x44));
        Avx.Store(dst + ldd, Avx.Shuffle(t0, t2, 0xEE));
        Avx.Store(dst + (2 * ldd), Avx.Shuffle(t1, t3, 0x44));
        Avx.Store(dst + (3 * ldd), Avx.Shuffle(t1, t3, 0xEE));
    }

    /// <summary>
    /// Writes a finished MR × NR tile held row by row in <paramref name="tile"/> into C (rows first … rows, columns
    /// 0 … cols): element (r, j) to c[r · ldc + j], or for a negative <paramref name="ldc"/> (C transposed) to c[j · |ldc| + r].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StoreEdge<T>(T* tile, int nr, T* c, int ldc, bool load, int first, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (rowStride, colStride) = ldc > 0 ? ((long)ldc, 1L) : (1L, -(long)ldc);
        for (var r = first; r < rows; r++)
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
    /// One depth step of three rows of <see cref="Kernel12{T, TWidth, TRows, TFetch}"/>: row j's value at g + j·L bytes,
    /// broadcast, times the panel's one or two vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step3<T, TWidth>(byte* g, nint rowBytes, Vector512<T> b0, Vector512<T> b1, ref Vector512<T> c00, ref Vector512<T> c01, ref Vector512<T> c10, ref Vector512<T> c11, ref Vector512<T> c20, ref Vector512<T> c21)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TWidth : struct, IPanelWidth
    {
        var x = Vector512.Create(*(T*)g);
        c00 = Simd.Fma(x, b0, c00);
        c01 = TWidth.Two ? Simd.Fma(x, b1, c01) : c01;
        x = Vector512.Create(*(T*)(g + rowBytes));
        c10 = Simd.Fma(x, b0, c10);
        c11 = TWidth.Two ? Simd.Fma(x, b1, c11) : c11;
        x = Vector512.Create(*(T*)(g + (2 * rowBytes)));
        c20 = Simd.Fma(x, b0, c20);
        c21 = TWidth.Two ? Simd.Fma(x, b1, c21) : c21;
    }

    /// <summary>
    /// Writes (or adds) three rows of a <see cref="Kernel12{T, TWidth, TRows, TFetch}"/> tile, rows <paramref name="ld"/>
    /// apart, row by row (each row's one or two vectors together, so its lines are written one after the other). Column
    /// by column, as before, the store-bound rank-4 h·Bᵀ (1,024 × 4 × 384) took 1.02–1.05 × the time, alternated on each
    /// Zen 5 core and on both; compute-bound tiles did not notice.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store3<T, TWidth>(T* dst, int ld, bool add, Vector512<T> c00, Vector512<T> c01, Vector512<T> c10, Vector512<T> c11, Vector512<T> c20, Vector512<T> c21)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TWidth : struct, IPanelWidth
    {
        var w = Vector512<T>.Count;
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
    }

    /// <summary>Runs <see cref="Kernel12{T, TWidth, TRows, TFetch}"/> on <paramref name="groups"/> groups of three rows (4: the full 12).</summary>
    private static void Kernel12<T, TWidth>(int groups, T* a, nint lda, nint step, T* b, int depth, T* c, int ldc, bool load, int skip, int rows, int cols, T* edge)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TWidth : struct, IPanelWidth
    {
        switch (groups)
        {
            case 1:
                Kernel12<T, TWidth, Rows3, NoFetch>(a, lda, step, b, depth, c, ldc, load, skip, rows, cols, edge, null);
                break;
            case 2:
                Kernel12<T, TWidth, Rows6, NoFetch>(a, lda, step, b, depth, c, ldc, load, skip, rows, cols, edge, null);
                break;
            case 3:
                Kernel12<T, TWidth, Rows9, NoFetch>(a, lda, step, b, depth, c, ldc, load, skip, rows, cols, edge, null);
                break;
            default:
                Kernel12<T, TWidth, Rows12, NoFetch>(a, lda, step, b, depth, c, ldc, load, skip, rows, cols, edge, null);
                break;
        }
    }

    /// <summary>
    /// AVX-512 micro-kernel: C[R, NR] (+)= op(A)[R, depth] · Bpanel[depth, NR], R = 3 · <typeparamref name="TRows"/>.Groups
    /// (12, or 3, 6, 9 for the last rows of a matrix), NR = 2W (or W for a narrow last panel), W = 16 floats or 8
    /// doubles; op(A)[r, q] is read at a[r · lda + q · step] (rows in place, or a packed panel). At 12 rows, 24
    /// accumulators, 2 B vectors and one broadcast fill 27 of the 32 zmm registers. The first <paramref name="skip"/> of
    /// the <paramref name="rows"/> valid rows are computed but not stored (a last tile that overlaps the one before it).
    /// With <typeparamref name="TFetch"/> = <see cref="FetchNext"/>, every 16th depth step also prefetches into L1 the
    /// line at the same depth of three rows of A's next panel, from <paramref name="next"/> (rows L bytes apart, read
    /// at the step's stride); one more general register, so the loop still keeps all its pointers in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel12<T, TWidth, TRows, TFetch>(T* a, nint lda, nint step, T* b, int depth, T* c, int ldc, bool load, int skip, int rows, int cols, T* edge, byte* next)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TWidth : struct, IPanelWidth
        where TRows : struct, IRowGroups
        where TFetch : struct, INextPanel
    {
        var w = Vector512<T>.Count;
        var nr = TWidth.Two ? 2 * w : w;

        // The rows in groups of three: row 3g + j at g_g + j·L (bytes). Four moving bases and one stride leave enough
        // general registers for the loop (twelve row pointers did not fit: the JIT kept three on the stack and reloaded
        // them every depth step, 17 loads per 12 multiply-adds on a one-vector panel).
        nint rowBytes = lda * sizeof(T), stepBytes = step * sizeof(T);
        byte* g0 = (byte*)a, g1 = g0 + (3 * rowBytes), g2 = g0 + (6 * rowBytes), g3 = g0 + (9 * rowBytes);
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<T> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (var p = 0; p < depth; p++, b += nr, g0 += stepBytes, g1 += stepBytes, g2 += stepBytes, g3 += stepBytes)
        {
            if (TFetch.Fetch)
            {
                if ((p & 15) == 0)
                {
                    Sse.Prefetch0(next);
                    Sse.Prefetch0(next + rowBytes);
                    Sse.Prefetch0(next + (2 * rowBytes));
                }

                next += stepBytes;
            }

            var b0 = Vector512.Load(b);
            var b1 = TWidth.Two ? Vector512.Load(b + w) : default;
            Step3<T, TWidth>(g0, rowBytes, b0, b1, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21);
            if (TRows.Groups > 1)
            {
                Step3<T, TWidth>(g1, rowBytes, b0, b1, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            }

            if (TRows.Groups > 2)
            {
                Step3<T, TWidth>(g2, rowBytes, b0, b1, ref c60, ref c61, ref c70, ref c71, ref c80, ref c81);
            }

            if (TRows.Groups > 3)
            {
                Step3<T, TWidth>(g3, rowBytes, b0, b1, ref c90, ref c91, ref ca0, ref ca1, ref cb0, ref cb1);
            }
        }

        var full = skip == 0 && rows == 3 * TRows.Groups && cols == nr && ldc > 0;
        var dst = full ? c : edge;
        var ld = full ? ldc : nr;
        var add = full && load;
        Store3<T, TWidth>(dst, ld, add, c00, c01, c10, c11, c20, c21);
        if (TRows.Groups > 1)
        {
            Store3<T, TWidth>(dst + (3 * ld), ld, add, c30, c31, c40, c41, c50, c51);
        }

        if (TRows.Groups > 2)
        {
            Store3<T, TWidth>(dst + (6 * ld), ld, add, c60, c61, c70, c71, c80, c81);
        }

        if (TRows.Groups > 3)
        {
            Store3<T, TWidth>(dst + (9 * ld), ld, add, c90, c91, ca0, ca1, cb0, cb1);
        }

        if (!full)
        {
            StoreEdge(edge, nr, c, ldc, load, skip, rows, cols);
        }
    }

    /// <summary>
    /// AVX2 micro-kernel: C[6, NR] (+)= op(A)[6, depth] · Bpanel[depth, NR], NR = 2W (or W), W = 8 floats or 4
    /// doubles; 12 accumulators, 2 B vectors and one broadcast fill 15 of the 16 ymm registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            StoreEdge(edge, nr, c, ldc, load, 0, rows, cols);
        }
    }

    /// <summary>How many groups of three rows a <see cref="Kernel12{T, TWidth, TRows, TFetch}"/> tile has, as a type (each count compiled on its own).</summary>
    private interface IRowGroups
    {
        /// <summary>Gets the groups of three rows (1 to 4).</summary>
        static abstract int Groups { get; }
    }

    private readonly struct Rows3 : IRowGroups
    {
        public static int Groups => 1;
    }

    private readonly struct Rows6 : IRowGroups
    {
        public static int Groups => 2;
    }

    private readonly struct Rows9 : IRowGroups
    {
        public static int Groups => 3;
    }

    private readonly struct Rows12 : IRowGroups
    {
        public static int Groups => 4;
    }

    /// <summary>Whether a <see cref="Kernel12{T, TWidth, TRows, TFetch}"/> call also prefetches rows of A's next panel.</summary>
    private interface INextPanel
    {
        /// <summary>Gets whether the kernel prefetches.</summary>
        static abstract bool Fetch { get; }
    }

    /// <summary>No prefetch of the next panel.</summary>
    private readonly struct NoFetch : INextPanel
    {
        public static bool Fetch => false;
    }

    /// <summary>Prefetch three rows of the next panel.</summary>
    private readonly struct FetchNext : INextPanel
    {
        public static bool Fetch => true;
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
