using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// The operations the Llama family adds to <see cref="Layers"/>, forward beside backward: RMSNorm, rotary position
/// embedding (Hugging Face's rotate-half convention), SwiGLU, and causal attention with grouped key/value heads.
/// Shapes: N = B·T rows, C channels, NH query heads, NKV key/value heads, HD head size.
/// </summary>
internal static unsafe class LlamaLayers
{
    // ---- RMSNorm: out = x / rms(x) · weight ----

    /// <summary>out (N, C) = x · rstd · weight with rstd = (mean x² + eps)^−½ kept (N) for backward; vectorised per row, rows in pieces on <paramref name="workers"/>.</summary>
    public static void RmsNormForward<T>(T* output, T* rstd, T* inp, T* weight, int n, int c, T eps, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint po = (nint)output, pr = (nint)rstd, pi = (nint)inp, pw = (nint)weight;
        Layers.Rows(workers, n, (po, pr, pi, pw, c, eps), static (state, first, rows) =>
        {
            var (po, pr, pi, pw, c, eps) = state;
            var count = T.CreateChecked(c);
            var w = new ReadOnlySpan<T>((T*)pw, c);
            for (var i = first; i < first + rows; i++)
            {
                var x = new ReadOnlySpan<T>((T*)pi + ((long)i * c), c);
                var o = new Span<T>((T*)po + ((long)i * c), c);
                var s = T.One / T.Sqrt((TensorPrimitives.SumOfSquares(x) / count) + eps);
                ((T*)pr)[i] = s;
                TensorPrimitives.Multiply(x, s, o);
                TensorPrimitives.Multiply(o, w, o);
            }
        });
    }

    /// <summary>
    /// y = x·s·w with s = (mean x² + eps)^−½: dinp += s·(w·d) − x·s³·mean(w·d·x), dweight += Σ x·s·d over rows (skipped
    /// when null: frozen). Vectorised per row; rows in pieces on <paramref name="workers"/>, dweight summed per piece and
    /// added up in piece order.
    /// </summary>
    public static void RmsNormBackward<T>(T* dinp, T* dweight, T* dout, T* inp, T* weight, T* rstd, int n, int c, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint pdi = (nint)dinp, pd = (nint)dout, pi = (nint)inp, pw = (nint)weight, pr = (nint)rstd;
        var train = dweight != null;
        Layers.RowsSummed(workers, n, train ? c : 0, dweight, null, (pdi, pd, pi, pw, pr, c, train), static (state, first, rows, partial) =>
        {
            var (pdi, pd, pi, pw, pr, c, train) = state;
            var count = T.CreateChecked(c);
            var scratch = ArrayPool<T>.Shared.Rent(c);
            try
            {
                var wd = scratch.AsSpan(0, c);
                var w = new ReadOnlySpan<T>((T*)pw, c);
                for (var i = first; i < first + rows; i++)
                {
                    var x = new ReadOnlySpan<T>((T*)pi + ((long)i * c), c);
                    var d = new ReadOnlySpan<T>((T*)pd + ((long)i * c), c);
                    var di = new Span<T>((T*)pdi + ((long)i * c), c);
                    var s = ((T*)pr)[i];
                    if (train)
                    {
                        // dweight += (x·d)·s, with wd as scratch for x·d first.
                        var dw = new Span<T>((T*)partial, c);
                        TensorPrimitives.Multiply(x, d, wd);
                        TensorPrimitives.MultiplyAdd(wd, s, dw, dw);
                    }

                    TensorPrimitives.Multiply(w, d, wd);
                    var k = TensorPrimitives.Dot<T>(wd, x) / count * s * s * s;
                    TensorPrimitives.MultiplyAdd(wd, s, di, di);
                    TensorPrimitives.MultiplyAdd(x, -k, di, di);
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(scratch);
            }
        });
    }

    // ---- rotary position embedding, in place ----

    /// <summary>
    /// The rotation angles position·θ^(−2i/HD) for every position below <paramref name="positions"/> and i &lt; HD/2, as
    /// cosines [position · HD/2 + i] followed by sines at the same index plus positions · HD/2. Built once per model, so
    /// the forward, the backward and each cached decode step read the same numbers instead of calling Pow, Cos and Sin
    /// per element.
    /// </summary>
    public static PinnedBuffer<T> RopeTable<T>(int positions, int hd, double theta)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var half = hd / 2;
        var table = new PinnedBuffer<T>(2L * positions * half);
        var span = table.Span;
        for (var p = 0; p < positions; p++)
        {
            for (var i = 0; i < half; i++)
            {
                var angle = p * Math.Pow(theta, -2.0 * i / hd);
                span[(p * half) + i] = T.CreateChecked(Math.Cos(angle));
                span[(positions * half) + (p * half) + i] = T.CreateChecked(Math.Sin(angle));
            }
        }

        return table;
    }

    /// <summary>
    /// Rotates each head's (i, i + HD/2) pairs of x (B, T, heads · HD), row t of a sequence by position t's angles in
    /// <paramref name="table"/> (<see cref="RopeTable{T}"/> over <paramref name="positions"/>), or every row by
    /// <paramref name="position"/>'s when that is not negative (a decode step); <paramref name="inverse"/> rotates back
    /// (the backward: the rotation is orthogonal).
    /// </summary>
    public static void Rope<T>(T* x, int b, int t, int heads, int hd, PinnedBuffer<T> table, int positions, bool inverse, int position = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var half = hd / 2;
        var sines = table.Pointer + ((long)positions * half);
        for (var bi = 0; bi < b; bi++)
        {
            for (var ti = 0; ti < t; ti++)
            {
                var at = (position >= 0 ? position : ti) * half;
                T* cos = table.Pointer + at, sin = sines + at;
                for (var h = 0; h < heads; h++)
                {
                    var v = x + ((((long)bi * t) + ti) * heads * hd) + ((long)h * hd);
                    for (var i = 0; i < half; i++)
                    {
                        var s = inverse ? -sin[i] : sin[i];
                        var a = v[i];
                        var c = v[i + half];
                        v[i] = (a * cos[i]) - (c * s);
                        v[i + half] = (c * cos[i]) + (a * s);
                    }
                }
            }
        }
    }

    // ---- SwiGLU: h = silu(gate) · up ----

    /// <summary>out = g·σ(g)·up, vectorised (σ through TensorPrimitives), in pieces on up to <paramref name="workers"/>.</summary>
    public static void SwiGluForward<T>(T* output, T* gate, T* up, int n, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint po = (nint)output, pg = (nint)gate, pu = (nint)up;
        Layers.Elementwise(workers, n, (po, pg, pu), static (state, start, count) =>
        {
            var (po, pg, pu) = state;
            var g = new ReadOnlySpan<T>((T*)pg + start, count);
            var o = new Span<T>((T*)po + start, count);
            TensorPrimitives.Sigmoid(g, o);
            TensorPrimitives.Multiply(o, g, o);
            TensorPrimitives.Multiply(o, new ReadOnlySpan<T>((T*)pu + start, count), o);
        });
    }

    /// <summary>dup += dout·g·σ(g); dgate += dout·up·σ(g)·(1 + g·(1 − σ(g))); in pieces as the forward.</summary>
    public static void SwiGluBackward<T>(T* dgate, T* dup, T* dout, T* gate, T* up, int n, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        nint pdg = (nint)dgate, pdu = (nint)dup, pd = (nint)dout, pg = (nint)gate, pu = (nint)up;
        Layers.Elementwise(workers, n, (pdg, pdu, pd, pg, pu), static (state, start, count) =>
        {
            var (pdg, pdu, pd, pg, pu) = state;
            var rented = ArrayPool<T>.Shared.Rent(count);
            try
            {
                var sigmoid = rented.AsSpan(0, count);
                TensorPrimitives.Sigmoid(new ReadOnlySpan<T>((T*)pg + start, count), sigmoid);
                for (var i = 0; i < count; i++)
                {
                    var at = start + i;
                    var g = ((T*)pg)[at];
                    var sig = sigmoid[i];
                    var d = ((T*)pd)[at];
                    ((T*)pdu)[at] += d * g * sig;
                    ((T*)pdg)[at] += d * ((T*)pu)[at] * sig * (T.One + (g * (T.One - sig)));
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(rented);
            }
        });
    }

    // ---- causal attention with grouped key/value heads ----

    /// <summary>
    /// q (N, NH·HD), k and v (N, NKV·HD); query head h reads key/value head h / (NH / NKV). att (B, NH, T, T). One
    /// (batch, query head) per task, each through <see cref="Layers.HeadForward{T}"/>'s GEMMs.
    /// </summary>
    public static void AttentionForward<T>(T* output, T* att, T* q, T* k, T* v, int b, int t, int nh, int nkv, int hd, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var group = nh / nkv;
        nint po = (nint)output, pa = (nint)att, pq = (nint)q, pk = (nint)k, pv = (nint)v;
        Workers.Run(workers, b * nh, (po, pa, pq, pk, pv, t, nh, nkv, hd, group), static (state, bh) =>
        {
            var (po, pa, pq, pk, pv, t, nh, nkv, hd, group) = state;
            int bi = bh / nh, h = bh % nh, kvh = h / group;
            var kv = ((long)bi * t * nkv * hd) + (kvh * hd);
            var rows = ((long)bi * t * nh * hd) + (h * hd);
            Layers.HeadForward((T*)pq + rows, nh * hd, (T*)pk + kv, (T*)pv + kv, nkv * hd, (T*)po + rows, nh * hd, (T*)pa + ((long)bh * t * t), t, hd);
        });
    }

    public static void AttentionBackward<T>(T* dq, T* dk, T* dv, T* dout, T* q, T* k, T* v, T* att, int b, int t, int nh, int nkv, int hd, Workers? workers = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var group = nh / nkv;
        nint pdq = (nint)dq, pdk = (nint)dk, pdv = (nint)dv, pd = (nint)dout, pq = (nint)q, pk = (nint)k, pv = (nint)v, pa = (nint)att;

        // Query heads of one group write the same dk/dv rows, so a task owns a whole (batch, kv head) group.
        Workers.Run(workers, b * nkv, (pdq, pdk, pdv, pd, pq, pk, pv, pa, t, nh, nkv, hd, group), static (state, bk) =>
        {
            var (pdq, pdk, pdv, pd, pq, pk, pv, pa, t, nh, nkv, hd, group) = state;
            int bi = bk / nkv, kvh = bk % nkv;
            var kv = ((long)bi * t * nkv * hd) + (kvh * hd);
            for (var h = kvh * group; h < (kvh + 1) * group; h++)
            {
                var rows = ((long)bi * t * nh * hd) + (h * hd);
                Layers.HeadBackward((T*)pdq + rows, (T*)pq + rows, nh * hd, (T*)pdk + kv, (T*)pdv + kv, (T*)pk + kv, (T*)pv + kv, nkv * hd, (T*)pd + rows, nh * hd, (T*)pa + ((((long)bi * nh) + h) * t * t), t, hd);
            }
        });
    }
}
