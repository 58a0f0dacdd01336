using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// Dense matrix multiply, row-major: C (+)= op(A)·op(B). The output is cut into tiles of rows × columns that threads
/// share out (each tile is written by one thread, in a fixed order, so results do not depend on scheduling); inside
/// a tile the depth is blocked so a panel of B stays in L2 while a 6-row micro-kernel keeps 12 vector accumulators in
/// registers and issues one fused multiply-add per accumulator per depth step.
/// </summary>
internal static unsafe class MatMul
{
    private const int TileRows = 48;
    private const int TileCols = 256;
    private const int DepthBlock = 256;

    /// <summary>Gets or sets the most threads a multiply uses (default: every core).</summary>
    public static int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>C[m, n] (+)= op(A)[m, k] · op(B)[k, n]; A is stored [k, m] when transposed, B is stored [n, k].</summary>
    public static void Gemm<T>(T* a, bool transA, T* b, bool transB, T* c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T[]? ta = null, tb = null;
        try
        {
            if (transA)
            {
                ta = ArrayPool<T>.Shared.Rent(m * k);
                fixed (T* pa = ta)
                {
                    Transpose(a, k, m, pa);
                }
            }

            if (transB)
            {
                tb = ArrayPool<T>.Shared.Rent(n * k);
                fixed (T* pb = tb)
                {
                    Transpose(b, n, k, pb);
                }
            }

            fixed (T* pa = ta, pb = tb)
            {
                Gemm(transA ? pa : a, transB ? pb : b, c, m, k, n, accumulate);
            }
        }
        finally
        {
            if (ta is not null)
            {
                ArrayPool<T>.Shared.Return(ta);
            }

            if (tb is not null)
            {
                ArrayPool<T>.Shared.Return(tb);
            }
        }
    }

    /// <summary>C[m, n] (+)= A[m, k] · B[k, n].</summary>
    public static void Gemm<T>(T* a, T* b, T* c, int m, int k, int n, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (!accumulate)
        {
            new Span<T>(c, checked(m * n)).Clear();
        }

        if (m == 0 || n == 0 || k == 0)
        {
            return;
        }

        var tilesM = (m + TileRows - 1) / TileRows;
        var tilesN = (n + TileCols - 1) / TileCols;
        var tiles = tilesM * tilesN;
        if (tiles == 1 || MaxThreads <= 1 || (long)m * n * k < 1 << 17)
        {
            for (var t = 0; t < tiles; t++)
            {
                Tile(a, b, c, m, k, n, t / tilesN, t % tilesN);
            }

            return;
        }

        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        Parallel.For(0, tiles, new ParallelOptions { MaxDegreeOfParallelism = MaxThreads }, t => Tile((T*)pa, (T*)pb, (T*)pc, m, k, n, t / tilesN, t % tilesN));
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

    private static void Tile<T>(T* a, T* b, T* c, int m, int k, int n, int tileI, int tileJ)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var i0 = tileI * TileRows;
        var i1 = Math.Min(m, i0 + TileRows);
        var j0 = tileJ * TileCols;
        var j1 = Math.Min(n, j0 + TileCols);
        for (var p0 = 0; p0 < k; p0 += DepthBlock)
        {
            var p1 = Math.Min(k, p0 + DepthBlock);
            var i = i0;
            if (Simd.Use512)
            {
                for (; i + 6 <= i1; i += 6)
                {
                    Rows6_512(a, b, c, k, n, i, j0, j1, p0, p1);
                }

                for (; i < i1; i++)
                {
                    Rows1_512(a, b, c, k, n, i, j0, j1, p0, p1);
                }
            }
            else
            {
                for (; i + 6 <= i1; i += 6)
                {
                    Rows6_256(a, b, c, k, n, i, j0, j1, p0, p1);
                }

                for (; i < i1; i++)
                {
                    Rows1_256(a, b, c, k, n, i, j0, j1, p0, p1);
                }
            }
        }
    }

    private static void Rows6_512<T>(T* a, T* b, T* c, int k, int n, int i, int j0, int j1, int p0, int p1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var w = Vector512<T>.Count;
        T* a0 = a + ((long)i * k), a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k;
        T* c0 = c + ((long)i * n), c1 = c0 + n, c2 = c1 + n, c3 = c2 + n, c4 = c3 + n, c5 = c4 + n;
        var j = j0;
        for (; j + (2 * w) <= j1; j += 2 * w)
        {
            var s00 = Vector512.Load(c0 + j);
            var s01 = Vector512.Load(c0 + j + w);
            var s10 = Vector512.Load(c1 + j);
            var s11 = Vector512.Load(c1 + j + w);
            var s20 = Vector512.Load(c2 + j);
            var s21 = Vector512.Load(c2 + j + w);
            var s30 = Vector512.Load(c3 + j);
            var s31 = Vector512.Load(c3 + j + w);
            var s40 = Vector512.Load(c4 + j);
            var s41 = Vector512.Load(c4 + j + w);
            var s50 = Vector512.Load(c5 + j);
            var s51 = Vector512.Load(c5 + j + w);
            var bp = b + ((long)p0 * n) + j;
            for (var p = p0; p < p1; p++, bp += n)
            {
                var b0 = Vector512.Load(bp);
                var b1 = Vector512.Load(bp + w);
                var x0 = Vector512.Create(a0[p]);
                s00 = Simd.Fma(x0, b0, s00);
                s01 = Simd.Fma(x0, b1, s01);
                var x1 = Vector512.Create(a1[p]);
                s10 = Simd.Fma(x1, b0, s10);
                s11 = Simd.Fma(x1, b1, s11);
                var x2 = Vector512.Create(a2[p]);
                s20 = Simd.Fma(x2, b0, s20);
                s21 = Simd.Fma(x2, b1, s21);
                var x3 = Vector512.Create(a3[p]);
                s30 = Simd.Fma(x3, b0, s30);
                s31 = Simd.Fma(x3, b1, s31);
                var x4 = Vector512.Create(a4[p]);
                s40 = Simd.Fma(x4, b0, s40);
                s41 = Simd.Fma(x4, b1, s41);
                var x5 = Vector512.Create(a5[p]);
                s50 = Simd.Fma(x5, b0, s50);
                s51 = Simd.Fma(x5, b1, s51);
            }

            s00.Store(c0 + j);
            s01.Store(c0 + j + w);
            s10.Store(c1 + j);
            s11.Store(c1 + j + w);
            s20.Store(c2 + j);
            s21.Store(c2 + j + w);
            s30.Store(c3 + j);
            s31.Store(c3 + j + w);
            s40.Store(c4 + j);
            s41.Store(c4 + j + w);
            s50.Store(c5 + j);
            s51.Store(c5 + j + w);
        }

        for (; j + w <= j1; j += w)
        {
            var s0 = Vector512.Load(c0 + j);
            var s1 = Vector512.Load(c1 + j);
            var s2 = Vector512.Load(c2 + j);
            var s3 = Vector512.Load(c3 + j);
            var s4 = Vector512.Load(c4 + j);
            var s5 = Vector512.Load(c5 + j);
            var bp = b + ((long)p0 * n) + j;
            for (var p = p0; p < p1; p++, bp += n)
            {
                var b0 = Vector512.Load(bp);
                s0 = Simd.Fma(Vector512.Create(a0[p]), b0, s0);
                s1 = Simd.Fma(Vector512.Create(a1[p]), b0, s1);
                s2 = Simd.Fma(Vector512.Create(a2[p]), b0, s2);
                s3 = Simd.Fma(Vector512.Create(a3[p]), b0, s3);
                s4 = Simd.Fma(Vector512.Create(a4[p]), b0, s4);
                s5 = Simd.Fma(Vector512.Create(a5[p]), b0, s5);
            }

            s0.Store(c0 + j);
            s1.Store(c1 + j);
            s2.Store(c2 + j);
            s3.Store(c3 + j);
            s4.Store(c4 + j);
            s5.Store(c5 + j);
        }

        for (; j < j1; j++)
        {
            for (var r = 0; r < 6; r++)
            {
                var ar = a0 + ((long)r * k);
                var sum = c0[((long)r * n) + j];
                for (var p = p0; p < p1; p++)
                {
                    sum += ar[p] * b[((long)p * n) + j];
                }

                c0[((long)r * n) + j] = sum;
            }
        }
    }

    private static void Rows1_512<T>(T* a, T* b, T* c, int k, int n, int i, int j0, int j1, int p0, int p1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var w = Vector512<T>.Count;
        var a0 = a + ((long)i * k);
        var c0 = c + ((long)i * n);
        var j = j0;
        for (; j + (4 * w) <= j1; j += 4 * w)
        {
            var s0 = Vector512.Load(c0 + j + (0 * w));
            var s1 = Vector512.Load(c0 + j + (1 * w));
            var s2 = Vector512.Load(c0 + j + (2 * w));
            var s3 = Vector512.Load(c0 + j + (3 * w));
            var bp = b + ((long)p0 * n) + j;
            for (var p = p0; p < p1; p++, bp += n)
            {
                var x = Vector512.Create(a0[p]);
                s0 = Simd.Fma(x, Vector512.Load(bp + (0 * w)), s0);
                s1 = Simd.Fma(x, Vector512.Load(bp + (1 * w)), s1);
                s2 = Simd.Fma(x, Vector512.Load(bp + (2 * w)), s2);
                s3 = Simd.Fma(x, Vector512.Load(bp + (3 * w)), s3);
            }

            s0.Store(c0 + j + (0 * w));
            s1.Store(c0 + j + (1 * w));
            s2.Store(c0 + j + (2 * w));
            s3.Store(c0 + j + (3 * w));
        }

        for (; j + w <= j1; j += w)
        {
            var s = Vector512.Load(c0 + j);
            var bp = b + ((long)p0 * n) + j;
            for (var p = p0; p < p1; p++, bp += n)
            {
                s = Simd.Fma(Vector512.Create(a0[p]), Vector512.Load(bp), s);
            }

            s.Store(c0 + j);
        }

        for (; j < j1; j++)
        {
            var sum = c0[j];
            for (var p = p0; p < p1; p++)
            {
                sum += a0[p] * b[((long)p * n) + j];
            }

            c0[j] = sum;
        }
    }

    private static void Rows6_256<T>(T* a, T* b, T* c, int k, int n, int i, int j0, int j1, int p0, int p1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var w = Vector256<T>.Count;
        T* a0 = a + ((long)i * k), a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k;
        T* c0 = c + ((long)i * n), c1 = c0 + n, c2 = c1 + n, c3 = c2 + n, c4 = c3 + n, c5 = c4 + n;
        var j = j0;
        for (; j + (2 * w) <= j1; j += 2 * w)
        {
            var s00 = Vector256.Load(c0 + j);
            var s01 = Vector256.Load(c0 + j + w);
            var s10 = Vector256.Load(c1 + j);
            var s11 = Vector256.Load(c1 + j + w);
            var s20 = Vector256.Load(c2 + j);
            var s21 = Vector256.Load(c2 + j + w);
            var s30 = Vector256.Load(c3 + j);
            var s31 = Vector256.Load(c3 + j + w);
            var s40 = Vector256.Load(c4 + j);
            var s41 = Vector256.Load(c4 + j + w);
            var s50 = Vector256.Load(c5 + j);
            var s51 = Vector256.Load(c5 + j + w);
            var bp = b + ((long)p0 * n) + j;
            for (var p = p0; p < p1; p++, bp += n)
            {
                var b0 = Vector256.Load(bp);
                var b1 = Vector256.Load(bp + w);
                var x0 = Vector256.Create(a0[p]);
                s00 = Simd.Fma(x0, b0, s00);
                s01 = Simd.Fma(x0, b1, s01);
                var x1 = Vector256.Create(a1[p]);
                s10 = Simd.Fma(x1, b0, s10);
                s11 = Simd.Fma(x1, b1, s11);
                var x2 = Vector256.Create(a2[p]);
                s20 = Simd.Fma(x2, b0, s20);
                s21 = Simd.Fma(x2, b1, s21);
                var x3 = Vector256.Create(a3[p]);
                s30 = Simd.Fma(x3, b0, s30);
                s31 = Simd.Fma(x3, b1, s31);
                var x4 = Vector256.Create(a4[p]);
                s40 = Simd.Fma(x4, b0, s40);
                s41 = Simd.Fma(x4, b1, s41);
                var x5 = Vector256.Create(a5[p]);
                s50 = Simd.Fma(x5, b0, s50);
                s51 = Simd.Fma(x5, b1, s51);
            }

            s00.Store(c0 + j);
            s01.Store(c0 + j + w);
            s10.Store(c1 + j);
            s11.Store(c1 + j + w);
            s20.Store(c2 + j);
            s21.Store(c2 + j + w);
            s30.Store(c3 + j);
            s31.Store(c3 + j + w);
            s40.Store(c4 + j);
            s41.Store(c4 + j + w);
            s50.Store(c5 + j);
            s51.Store(c5 + j + w);
        }

        for (; j + w <= j1; j += w)
        {
            var s0 = Vector256.Load(c0 + j);
            var s1 = Vector256.Load(c1 + j);
            var s2 = Vector256.Load(c2 + j);
            var s3 = Vector256.Load(c3 + j);
            var s4 = Vector256.Load(c4 + j);
            var s5 = Vector256.Load(c5 + j);
            var bp = b + ((long)p0 * n) + j;
            for (var p = p0; p < p1; p++, bp += n)
            {
                var b0 = Vector256.Load(bp);
                s0 = Simd.Fma(Vector256.Create(a0[p]), b0, s0);
                s1 = Simd.Fma(Vector256.Create(a1[p]), b0, s1);
                s2 = Simd.Fma(Vector256.Create(a2[p]), b0, s2);
                s3 = Simd.Fma(Vector256.Create(a3[p]), b0, s3);
                s4 = Simd.Fma(Vector256.Create(a4[p]), b0, s4);
                s5 = Simd.Fma(Vector256.Create(a5[p]), b0, s5);
            }

            s0.Store(c0 + j);
            s1.Store(c1 + j);
            s2.Store(c2 + j);
            s3.Store(c3 + j);
            s4.Store(c4 + j);
            s5.Store(c5 + j);
        }

        for (; j < j1; j++)
        {
            for (var r = 0; r < 6; r++)
            {
                var ar = a0 + ((long)r * k);
                var sum = c0[((long)r * n) + j];
                for (var p = p0; p < p1; p++)
                {
                    sum += ar[p] * b[((long)p * n) + j];
                }

                c0[((long)r * n) + j] = sum;
            }
        }
    }

    private static void Rows1_256<T>(T* a, T* b, T* c, int k, int n, int i, int j0, int j1, int p0, int p1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var w = Vector256<T>.Count;
        var a0 = a + ((long)i * k);
        var c0 = c + ((long)i * n);
        var j = j0;
        for (; j + (4 * w) <= j1; j += 4 * w)
        {
            var s0 = Vector256.Load(c0 + j + (0 * w));
            var s1 = Vector256.Load(c0 + j + (1 * w));
            var s2 = Vector256.Load(c0 + j + (2 * w));
            var s3 = Vector256.Load(c0 + j + (3 * w));
            var bp = b + ((long)p0 * n) + j;
            for (var p = p0; p < p1; p++, bp += n)
            {
                var x = Vector256.Create(a0[p]);
                s0 = Simd.Fma(x, Vector256.Load(bp + (0 * w)), s0);
                s1 = Simd.Fma(x, Vector256.Load(bp + (1 * w)), s1);
                s2 = Simd.Fma(x, Vector256.Load(bp + (2 * w)), s2);
                s3 = Simd.Fma(x, Vector256.Load(bp + (3 * w)), s3);
            }

            s0.Store(c0 + j + (0 * w));
            s1.Store(c0 + j + (1 * w));
            s2.Store(c0 + j + (2 * w));
            s3.Store(c0 + j + (3 * w));
        }

        for (; j + w <= j1; j += w)
        {
            var s = Vector256.Load(c0 + j);
            var bp = b + ((long)p0 * n) + j;
            for (var p = p0; p < p1; p++, bp += n)
            {
                s = Simd.Fma(Vector256.Create(a0[p]), Vector256.Load(bp), s);
            }

            s.Store(c0 + j);
        }

        for (; j < j1; j++)
        {
            var sum = c0[j];
            for (var p = p0; p < p1; p++)
            {
                sum += a0[p] * b[((long)p * n) + j];
            }

            c0[j] = sum;
        }
    }
}
