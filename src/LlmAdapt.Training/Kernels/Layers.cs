using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// The operations a decoder is made of, each forward beside its backward (llm.c style). Backward functions
/// accumulate (+=) into parameter and input gradients, so micro-batches add up without extra buffers (except
/// <see cref="CrossEntropyHeadBackward{T}"/>, which overwrites its input gradient, as its summary says).
/// Shapes in comments: B batch, T time, C channels, V vocabulary, NH heads.
/// </summary>
internal static unsafe class Layers
{
    // ---- token + position embedding ----

    /// <summary>out[b,t,:] = wte[inp[b,t],:] + wpe[t,:].</summary>
    public static void EncoderForward<T>(T* output, int[] inp, T* wte, T* wpe, int b, int t, int c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var bt = 0; bt < b * t; bt++)
        {
            var o = new Span<T>(output + ((long)bt * c), c);
            var token = new ReadOnlySpan<T>(wte + ((long)inp[bt] * c), c);
            var position = new ReadOnlySpan<T>(wpe + ((long)(bt % t) * c), c);
            TensorPrimitives.Add(token, position, o);
        }
    }

    public static void EncoderBackward<T>(T* dwte, T* dwpe, T* dout, int[] inp, int b, int t, int c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var bt = 0; bt < b * t; bt++)
        {
            var d = dout + ((long)bt * c);
            if (dwte != null)
            {
                Simd.Axpy(T.One, d, dwte + ((long)inp[bt] * c), c);
            }

            if (dwpe != null)
            {
                Simd.Axpy(T.One, d, dwpe + ((long)(bt % t) * c), c);
            }
        }
    }

    // ---- LayerNorm ----

    /// <summary>Rows per piece of the row-wise ops (norms, bias): a piece's rows stay in L1/L2 and cost far more than handing it to a thread.</summary>
    internal const int RowsPerPiece = 64;

    /// <summary>
    /// out (N, C) = (inp − mean) · rstd · weight + bias; keeps mean and rstd (N) for backward. Per row: the mean, the
    /// centred row (written to out), its mean square, then the scale and shift, each one vectorised pass over a row
    /// held in L1; rows in pieces of <see cref="RowsPerPiece"/> on <paramref name="workers"/>.
    /// </summary>
    public static void LayerNormForward<T>(T* output, T* mean, T* rstd, T* inp, T* weight, T* bias, int n, int c, T eps, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint po = (nint)output, pm = (nint)mean, pr = (nint)rstd, pi = (nint)inp, pw = (nint)weight, pb = (nint)bias;
        Rows(workers, n, (po, pm, pr, pi, pw, pb, c, eps), static (state, first, rows) =>
        {
            var (po, pm, pr, pi, pw, pb, c, eps) = state;
            var count = T.CreateChecked(c);
            var w = new ReadOnlySpan<T>((T*)pw, c);
            var bs = new ReadOnlySpan<T>((T*)pb, c);
            for (var i = first; i < first + rows; i++)
            {
                var x = new ReadOnlySpan<T>((T*)pi + ((long)i * c), c);
                var o = new Span<T>((T*)po + ((long)i * c), c);
                var m = TensorPrimitives.Sum(x) / count;
                TensorPrimitives.Subtract(x, m, o);
                var s = T.One / T.Sqrt((TensorPrimitives.SumOfSquares<T>(o) / count) + eps);
                TensorPrimitives.Multiply(o, s, o);
                TensorPrimitives.MultiplyAdd(o, w, bs, o);
                ((T*)pm)[i] = m;
                ((T*)pr)[i] = s;
            }
        });
    }

    /// <summary>
    /// dinp += (dnorm − mean(dnorm) − norm · mean(dnorm · norm)) · rstd with norm = (inp − mean) · rstd and dnorm = weight ·
    /// dout; dweight += Σ norm · dout and dbias += Σ dout over rows (skipped when dbias is null: frozen). Vectorised per row;
    /// rows in pieces on <paramref name="workers"/>, each piece summing its own dweight/dbias, added up in piece order
    /// (so the result does not depend on the thread count).
    /// </summary>
    public static void LayerNormBackward<T>(T* dinp, T* dweight, T* dbias, T* dout, T* inp, T* weight, T* mean, T* rstd, int n, int c, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint pdi = (nint)dinp, pd = (nint)dout, pi = (nint)inp, pw = (nint)weight, pm = (nint)mean, pr = (nint)rstd;
        var train = dbias != null;
        RowsSummed(workers, n, train ? c : 0, dweight, dbias, (pdi, pd, pi, pw, pm, pr, c, train), static (state, first, rows, partial) =>
        {
            var (pdi, pd, pi, pw, pm, pr, c, train) = state;
            var count = T.CreateChecked(c);
            var scratch = ArrayPool<T>.Shared.Rent(2 * c);
            try
            {
                var norm = scratch.AsSpan(0, c);
                var dnorm = scratch.AsSpan(c, c);
                var w = new ReadOnlySpan<T>((T*)pw, c);
                for (var i = first; i < first + rows; i++)
                {
                    var d = new ReadOnlySpan<T>((T*)pd + ((long)i * c), c);
                    var di = new Span<T>((T*)pdi + ((long)i * c), c);
                    var s = ((T*)pr)[i];
                    TensorPrimitives.Subtract(new ReadOnlySpan<T>((T*)pi + ((long)i * c), c), ((T*)pm)[i], norm);
                    TensorPrimitives.Multiply(norm, s, norm);
                    TensorPrimitives.Multiply(w, d, dnorm);
                    var dnormMean = TensorPrimitives.Sum<T>(dnorm) / count;
                    var dnormNormMean = TensorPrimitives.Dot<T>(dnorm, norm) / count;
                    if (train)
                    {
                        var dw = new Span<T>((T*)partial, c);
                        var db = new Span<T>((T*)partial + c, c);
                        TensorPrimitives.MultiplyAdd(norm, d, dw, dw);
                        TensorPrimitives.Add(db, d, db);
                    }

                    // dinp += ((dnorm − dnormMean) − norm · dnormNormMean) · s
                    TensorPrimitives.MultiplyAdd(norm, -dnormNormMean, dnorm, dnorm);
                    TensorPrimitives.Subtract(dnorm, dnormMean, dnorm);
                    TensorPrimitives.MultiplyAdd(dnorm, s, di, di);
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(scratch);
            }
        });
    }

    /// <summary>
    /// Calls <paramref name="body"/>(<paramref name="state"/>, first, rows) over 0 … n − 1 in pieces of
    /// <see cref="RowsPerPiece"/> rows on <paramref name="workers"/> (a static lambda with its state passed in allocates nothing).
    /// </summary>
    internal static void Rows<TState>(Workers? workers, int n, TState state, Action<TState, int, int> body)
        => Pieces(workers, n, RowsPerPiece, state, body);

    /// <summary>Calls body(state, start, length) over 0 … n − 1 in pieces of <paramref name="size"/>: here when there is one, else on <paramref name="workers"/>.</summary>
    private static void Pieces<TState>(Workers? workers, int n, int size, TState state, Action<TState, int, int> body)
    {
        var pieces = (n + size - 1) / size;
        if (pieces <= 1)
        {
            body(state, 0, n);
            return;
        }

        var item = new RowsItem<TState>(state, body, n, size);
        Workers.Run(workers, pieces, ref item);
    }

    /// <summary>
    /// As <see cref="Rows{TState}"/> for ops that also sum over rows: each piece's body gets its own zeroed partial (two
    /// rows of <paramref name="width"/>: [first | second]); the partials are added, in piece order, into
    /// <paramref name="first"/> and <paramref name="second"/> (either may be null, and width 0 skips the sums).
    /// </summary>
    internal static void RowsSummed<T, TState>(Workers? workers, int n, int width, T* first, T* second, TState state, Action<TState, int, int, nint> body)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var pieces = (n + RowsPerPiece - 1) / RowsPerPiece;
        var length = pieces * 2 * width;
        var partials = ArrayPool<T>.Shared.Rent(Math.Max(1, length));
        try
        {
            fixed (T* pp = partials)
            {
                new Span<T>(pp, length).Clear();
                var at = (nint)pp;
                if (pieces <= 1)
                {
                    body(state, 0, n, at);
                }
                else
                {
                    var item = new SummedRowsItem<TState>(state, body, n, at, 2 * width * sizeof(T));
                    Workers.Run(workers, pieces, ref item);
                }

                for (var piece = 0; width > 0 && piece < pieces; piece++)
                {
                    var partial = pp + ((long)piece * 2 * width);
                    if (first != null)
                    {
                        TensorPrimitives.Add(new Span<T>(first, width), new ReadOnlySpan<T>(partial, width), new Span<T>(first, width));
                    }

                    if (second != null)
                    {
                        TensorPrimitives.Add(new Span<T>(second, width), new ReadOnlySpan<T>(partial + width, width), new Span<T>(second, width));
                    }
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(partials);
        }
    }

    // ---- linear (HF Conv1D layout: weight [IC, OC]) ----

    /// <summary>
    /// out (N, OC) = inp (N, IC) · weight (IC, OC) + bias (OC); the bias rows in pieces on <paramref name="workers"/>;
    /// <paramref name="packedWeight"/>: the weight already packed (<see cref="MatMul.Pack{T}"/>), or null.
    /// </summary>
    public static void LinearForward<T>(T* output, T* inp, T* weight, T* bias, int n, int ic, int oc, Workers? workers = null, PackedMatrix<T>? packedWeight = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        MatMul.Gemm(inp, weight, output, n, ic, oc, accumulate: false, workers, packedWeight);
        if (bias != null)
        {
            nint po = (nint)output, pb = (nint)bias;
            Rows(workers, n, (po, pb, oc), static (state, first, rows) =>
            {
                var (po, pb, oc) = state;
                var bs = new ReadOnlySpan<T>((T*)pb, oc);
                for (var i = first; i < first + rows; i++)
                {
                    var row = new Span<T>((T*)po + ((long)i * oc), oc);
                    TensorPrimitives.Add(row, bs, row);
                }
            });
        }
    }

    /// <summary>
    /// dinp += dout · weightᵀ; dweight += inpᵀ · dout; dbias += Σ rows of dout (in row pieces on <paramref name="workers"/>,
    /// summed in piece order). Null gradients are skipped (frozen). <paramref name="packedWeightT"/>: weightᵀ already
    /// packed for dout · weightᵀ (<see cref="MatMul.Pack{T}"/>), or null.
    /// </summary>
    public static void LinearBackward<T>(T* dinp, T* dweight, T* dbias, T* dout, T* inp, T* weight, int n, int ic, int oc, Workers? workers = null, PackedMatrix<T>? packedWeightT = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (dinp != null)
        {
            MatMul.Gemm(dout, false, weight, true, dinp, n, oc, ic, accumulate: true, workers, packedWeightT);
        }

        if (dweight != null)
        {
            MatMul.Gemm(inp, true, dout, false, dweight, ic, n, oc, accumulate: true, workers);
        }

        if (dbias != null)
        {
            var pd = (nint)dout;
            RowsSummed(workers, n, oc, dbias, null, (pd, oc), static (state, first, rows, partial) =>
            {
                var (pd, oc) = state;
                var db = new Span<T>((T*)partial, oc);
                for (var i = first; i < first + rows; i++)
                {
                    TensorPrimitives.Add(db, new ReadOnlySpan<T>((T*)pd + ((long)i * oc), oc), db);
                }
            });
        }
    }

    // ---- causal self-attention ----

    /// <summary>
    /// qkv (B, T, 3C) holds queries, keys and values side by side; att (B, NH, T, T) keeps the softmax for backward;
    /// out (B, T, C) = softmax(q·kᵀ/√hs, causal) · v per head, one (batch, head) per task (<see cref="HeadForward{T}"/>).
    /// </summary>
    public static void AttentionForward<T>(T* output, T* att, T* qkv, int b, int t, int c, int nh, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var hs = c / nh;
        nint po = (nint)output, pa = (nint)att, pq = (nint)qkv;
        Workers.Run(workers, b * nh, (po, pa, pq, t, c, nh, hs), static (state, bh) =>
        {
            var (po, pa, pq, t, c, nh, hs) = state;
            int bi = bh / nh, h = bh % nh;
            var qkvB = (T*)pq + ((long)bi * t * 3 * c) + (h * hs);
            HeadForward(qkvB, 3 * c, qkvB + c, qkvB + (2 * c), 3 * c, (T*)po + ((long)bi * t * c) + (h * hs), c, (T*)pa + ((long)bh * t * t), t, hs);
        });
    }

    public static void AttentionBackward<T>(T* dqkv, T* dout, T* qkv, T* att, int b, int t, int c, int nh, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var hs = c / nh;
        nint pd = (nint)dqkv, po = (nint)dout, pa = (nint)att, pq = (nint)qkv;
        Workers.Run(workers, b * nh, (pd, po, pa, pq, t, c, nh, hs), static (state, bh) =>
        {
            var (pd, po, pa, pq, t, c, nh, hs) = state;
            int bi = bh / nh, h = bh % nh;
            var offset = ((long)bi * t * 3 * c) + (h * hs);
            T* q = (T*)pq + offset, dq = (T*)pd + offset;
            HeadBackward(dq, q, 3 * c, dq + c, dq + (2 * c), q + c, q + (2 * c), 3 * c, (T*)po + ((long)bi * t * c) + (h * hs), c, (T*)pa + ((long)bh * t * t), t, hs);
        });
    }

    /// <summary>Rows of one attention head per GEMM: causal blocks of this many query rows (a multiple of the 12-row micro-kernel).</summary>
    private const int AttentionRows = 48;

    /// <summary>
    /// One head of causal attention as GEMMs on strided rows: q rows (T, HD) lie <paramref name="ldq"/> apart, k and v
    /// rows <paramref name="ldkv"/> apart (rows holding every head), output rows <paramref name="ldo"/> apart, att (T, T) gets the probabilities (0 above the
    /// diagonal). Per block of <see cref="AttentionRows"/> query rows [r0, r1): scores = q[r0..r1) · k[0..r1)ᵀ (keys past
    /// the block's last row are never multiplied), the scaled causal softmax row by row (max, exp with its sum, one
    /// division; the masked tail is only cleared), then out[r0..r1) = att[r0..r1, 0..r1) · v[0..r1).
    /// </summary>
    public static void HeadForward<T>(T* q, int ldq, T* k, T* v, int ldkv, T* output, int ldo, T* att, int t, int hd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var scale = T.One / T.Sqrt(T.CreateChecked(hd));
        for (var r0 = 0; r0 < t; r0 += AttentionRows)
        {
            var r1 = Math.Min(t, r0 + AttentionRows);
            var block = att + ((long)r0 * t);
            MatMul.Gemm(q + ((long)r0 * ldq), false, ldq, k, true, ldkv, block, t, r1 - r0, hd, r1, accumulate: false);
            for (var i = r0; i < r1; i++)
            {
                var row = att + ((long)i * t);
                var scores = new Span<T>(row, i + 1);
                TensorPrimitives.Multiply(scores, scale, scores);
                var sum = Simd.ExpShifted(row, i + 1, Simd.Max(row, i + 1));
                TensorPrimitives.Multiply(scores, T.One / sum, scores);
                new Span<T>(row + i + 1, t - i - 1).Clear();
            }

            MatMul.Gemm(block, false, t, v, false, ldkv, output + ((long)r0 * ldo), ldo, r1 - r0, r1, hd, accumulate: false);
        }
    }

    /// <summary>
    /// Backward of <see cref="HeadForward{T}"/>, accumulating into dq (rows <paramref name="ldq"/> apart like q), dk and dv
    /// (<paramref name="ldkv"/> apart like k and v). Per block of query rows [r0, r1): dP = dout · v[0..r1)ᵀ, then dS = P ⊙ (dP − Σ P⊙dP) / √HD in place (0 where P
    /// is), dq[r0..r1) += dS · k[0..r1), dk[0..r1) += dSᵀ · q[r0..r1), dv[0..r1) += Pᵀ · dout[r0..r1). A (T, T) scratch
    /// holds dP.
    /// </summary>
    public static void HeadBackward<T>(T* dq, T* q, int ldq, T* dk, T* dv, T* k, T* v, int ldkv, T* dout, int ldo, T* att, int t, int hd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var scale = T.One / T.Sqrt(T.CreateChecked(hd));
        var scratch = Scratch<T>.Attention(Math.Min(t, AttentionRows) * t);
        for (var r0 = 0; r0 < t; r0 += AttentionRows)
        {
            int r1 = Math.Min(t, r0 + AttentionRows), rows = r1 - r0;
            var d = dout + ((long)r0 * ldo);
            var p = att + ((long)r0 * t);
            MatMul.Gemm(d, false, ldo, v, true, ldkv, scratch, r1, rows, hd, r1, accumulate: false);
            for (var i = 0; i < rows; i++)
            {
                var pi = p + ((long)i * t);
                var ds = new Span<T>(scratch + ((long)i * r1), r1);
                var dot = Simd.Dot(pi, scratch + ((long)i * r1), r0 + i + 1);
                TensorPrimitives.Subtract(ds, dot, ds);
                TensorPrimitives.Multiply(ds, new ReadOnlySpan<T>(pi, r1), ds);
                TensorPrimitives.Multiply(ds, scale, ds);
            }

            MatMul.Gemm(scratch, false, r1, k, false, ldkv, dq + ((long)r0 * ldq), ldq, rows, r1, hd, accumulate: true);
            MatMul.Gemm(scratch, true, r1, q + ((long)r0 * ldq), false, ldq, dk, ldkv, r1, rows, hd, accumulate: true);
            MatMul.Gemm(p, true, t, d, false, ldo, dv, ldkv, r1, rows, hd, accumulate: true);
        }
    }

    // ---- GELU (tanh approximation, Hugging Face's gelu_new) ----

    /// <summary>
    /// out = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), vectorised (the tanh through TensorPrimitives), in chunks of
    /// <see cref="ElementwiseChunk"/> shared out to up to <paramref name="workers"/>.
    /// </summary>
    public static void GeluForward<T>(T* output, T* inp, int n, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint po = (nint)output, pi = (nint)inp;
        Elementwise(workers, n, (po, pi), static (state, start, count) =>
        {
            var (po, pi) = state;
            var x = new ReadOnlySpan<T>((T*)pi + start, count);
            var o = new Span<T>((T*)po + start, count);
            GeluTanh(x, o);
            TensorPrimitives.Add(o, T.One, o);
            TensorPrimitives.Multiply(o, x, o);
            TensorPrimitives.Multiply(o, T.CreateChecked(0.5), o);
        });
    }

    /// <summary>dinp += gelu′(x)·dout, with gelu′ = ½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t the tanh above; chunked as the forward.</summary>
    public static void GeluBackward<T>(T* dinp, T* inp, T* dout, int n, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = T.CreateChecked(0.7978845608028654);
        var k3 = T.CreateChecked(3 * 0.044715);
        var half = T.CreateChecked(0.5);
        nint pdi = (nint)dinp, pi = (nint)inp, pd = (nint)dout;
        Elementwise(workers, n, (pdi, pi, pd, s, k3, half), static (state, start, count) =>
        {
            var (pdi, pi, pd, s, k3, half) = state;
            var rented = ArrayPool<T>.Shared.Rent(count);
            try
            {
                var x = new ReadOnlySpan<T>((T*)pi + start, count);
                var th = rented.AsSpan(0, count);
                GeluTanh(x, th);
                T* d = (T*)pd + start, di = (T*)pdi + start;
                for (var i = 0; i < count; i++)
                {
                    var xi = x[i];
                    var t = th[i];
                    var grad = (half * (T.One + t)) + (half * xi * (T.One - (t * t)) * s * (T.One + (k3 * xi * xi)));
                    di[i] += grad * d[i];
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(rented);
            }
        });
    }

    /// <summary>Values per piece of an element-wise op (128 KiB of floats): enough to amortise handing a piece to a thread.</summary>
    internal const int ElementwiseChunk = 1 << 15;

    /// <summary>
    /// Calls <paramref name="body"/>(<paramref name="state"/>, start, count) over 0 … n − 1 in pieces of
    /// <see cref="ElementwiseChunk"/> on up to <paramref name="workers"/>; pieces are independent, so the result does not
    /// depend on the thread count (a static lambda with its state passed in allocates nothing).
    /// </summary>
    internal static void Elementwise<TState>(Workers? workers, int n, TState state, Action<TState, int, int> body)
        => Pieces(workers, n, ElementwiseChunk, state, body);

    /// <summary>Piece i of <see cref="Pieces{TState}"/>: body(state, i · size, the piece's length); a struct, so handing it out allocates nothing.</summary>
    private readonly struct RowsItem<TState>(TState state, Action<TState, int, int> body, int n, int size) : IWorkItem
    {
        public void Run(int index) => body(state, index * size, Math.Min(size, n - (index * size)));
    }

    /// <summary>Piece i of <see cref="RowsSummed{T, TState}"/>: its rows and its own partial, <paramref name="stride"/> bytes after the previous piece's.</summary>
    private readonly struct SummedRowsItem<TState>(TState state, Action<TState, int, int, nint> body, int n, nint partials, int stride) : IWorkItem
    {
        public void Run(int index) => body(state, index * RowsPerPiece, Math.Min(RowsPerPiece, n - (index * RowsPerPiece)), partials + (index * (nint)stride));
    }

    /// <summary>t = tanh(√(2/π)·(x + 0.044715·x³)) into <paramref name="t"/>.</summary>
    private static void GeluTanh<T>(ReadOnlySpan<T> x, Span<T> t)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(x, x, t);
        TensorPrimitives.Multiply(t, T.CreateChecked(0.044715), t);
        TensorPrimitives.Add(t, T.One, t);
        TensorPrimitives.Multiply(t, x, t);
        TensorPrimitives.Multiply(t, T.CreateChecked(0.7978845608028654), t);
        TensorPrimitives.Tanh<T>(t, t);
    }

    // ---- residual ----

    /// <summary>out = a + b over n values, in element-wise pieces on <paramref name="workers"/>.</summary>
    public static void ResidualForward<T>(T* output, T* a, T* b, int n, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint po = (nint)output, pa = (nint)a, pb = (nint)b;
        Elementwise(workers, n, (po, pa, pb), static (state, start, count) => TensorPrimitives.Add(new ReadOnlySpan<T>((T*)state.pa + start, count), new ReadOnlySpan<T>((T*)state.pb + start, count), new Span<T>((T*)state.po + start, count)));
    }

    /// <summary>da += dout and db += dout over n values, in element-wise pieces on <paramref name="workers"/>.</summary>
    public static void ResidualBackward<T>(T* da, T* db, T* dout, int n, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint pa = (nint)da, pb = (nint)db, pd = (nint)dout;
        Elementwise(workers, n, (pa, pb, pd), static (state, start, count) =>
        {
            var (pa, pb, pd) = state;
            var d = new ReadOnlySpan<T>((T*)pd + start, count);
            TensorPrimitives.Add(new Span<T>((T*)pa + start, count), d, new Span<T>((T*)pa + start, count));
            TensorPrimitives.Add(new Span<T>((T*)pb + start, count), d, new Span<T>((T*)pb + start, count));
        });
    }

    // ---- softmax + cross-entropy, with ignored positions, fused with the output head's backward ----

    /// <summary>
    /// Turns logits (N, V) into probabilities in place and returns the summed loss over positions whose target is
    /// not negative (a negative target is ignored: prompt tokens in instruction tuning, padding). losses (N) gets each
    /// position's loss, 0 where ignored. With <paramref name="weights"/>, each position's loss is multiplied by its weight.
    /// Per row: one pass for the maximum, one for exp(x − max) and its sum (<see cref="Simd.ExpShifted{T}"/>), one dividing
    /// by the sum; the row (200 KB for GPT-2's vocabulary) stays in L2 after the first. The loss is log Σ + max − x[target],
    /// without taking the log of a probability.
    /// </summary>
    public static double SoftmaxCrossEntropyForward<T>(T* logits, T* losses, int[]? targets, float[]? weights, int n, int v, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint pl = (nint)logits, ploss = (nint)losses;
        Workers.Run(workers, n, (pl, ploss, targets, weights, v), static (state, i) =>
        {
            var (pl, ploss, targets, weights, v) = state;
            var start = (T*)pl + ((long)i * v);
            var row = new Span<T>(start, v);
            var target = targets is null ? -1 : targets[i];
            var max = Simd.Max(start, v);
            var picked = target >= 0 ? row[target] : T.Zero;
            var sum = Simd.ExpShifted(start, v, max);
            TensorPrimitives.Multiply(row, T.One / sum, row);
            var weight = weights is null ? T.One : T.CreateChecked(weights[i]);
            ((T*)ploss)[i] = target >= 0 ? (T.Log(sum) + max - picked) * weight : T.Zero;
        });

        var total = 0.0;
        for (var i = 0; i < n; i++)
        {
            total += double.CreateChecked(losses[i]);
        }

        return total;
    }

    /// <summary>
    /// Backward of logits = x · Wᵀ followed by the cross-entropy above, without forming dlogits: with sᵢ = scale (· weightᵢ)
    /// for a counted row and 0 for an ignored one, dlogits = s ⊙ (P − onehot), so
    /// dx (N, C) = s ⊙ (P · W) − s ⊙ W[targets] (overwritten, not accumulated), and
    /// dW (V, C) += Pᵀ · (s ⊙ x) − scatter of s ⊙ x onto the target rows (skipped when <paramref name="dw"/> is null).
    /// This saves the read and write of the N × V probabilities that forming dlogits costs; the probabilities stay intact.
    /// <paramref name="packedW"/>: W (V, C) already packed for P · W (<see cref="MatMul.Pack{T}"/>), or null.
    /// </summary>
    public static void CrossEntropyHeadBackward<T>(T* dx, T* dw, T* probs, T* x, T* w, int[] targets, float[]? weights, T scale, int n, int c, int v, Workers? workers = null, PackedMatrix<T>? packedW = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rowScale = ArrayPool<T>.Shared.Rent(n);
        var scaled = dw is null ? null : ArrayPool<T>.Shared.Rent(checked(n * c));
        try
        {
            for (var i = 0; i < n; i++)
            {
                rowScale[i] = targets[i] < 0 ? T.Zero : weights is null ? scale : scale * T.CreateChecked(weights[i]);
            }

            MatMul.Gemm(probs, w, dx, n, v, c, accumulate: false, workers, packedW);
            nint pdx = (nint)dx, pw = (nint)w;
            Rows(workers, n, (pdx, pw, rowScale, targets, c), static (state, first, rows) =>
            {
                var (pdx, pw, rowScale, targets, c) = state;
                for (var i = first; i < first + rows; i++)
                {
                    var row = new Span<T>((T*)pdx + ((long)i * c), c);
                    TensorPrimitives.Multiply(row, rowScale[i], row);
                    if (targets[i] >= 0)
                    {
                        Simd.Axpy(-rowScale[i], (T*)pw + ((long)targets[i] * c), (T*)pdx + ((long)i * c), c);
                    }
                }
            });

            if (dw is null)
            {
                return;
            }

            fixed (T* ps = scaled)
            {
                nint px = (nint)x, pps = (nint)ps;
                Rows(workers, n, (px, pps, rowScale, c), static (state, first, rows) =>
                {
                    var (px, pps, rowScale, c) = state;
                    for (var i = first; i < first + rows; i++)
                    {
                        TensorPrimitives.Multiply(new ReadOnlySpan<T>((T*)px + ((long)i * c), c), rowScale[i], new Span<T>((T*)pps + ((long)i * c), c));
                    }
                });

                MatMul.Gemm(probs, true, ps, false, dw, v, n, c, accumulate: true, workers);
                for (var i = 0; i < n; i++)
                {
                    if (targets[i] >= 0)
                    {
                        Simd.Axpy(-T.One, ps + ((long)i * c), dw + ((long)targets[i] * c), c);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(rowScale);
            if (scaled is not null)
            {
                ArrayPool<T>.Shared.Return(scaled);
            }
        }
    }
}
