using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Tests.Kernels;

public sealed unsafe class LlamaLayersGradientTests
{
    private const double Tolerance = 1e-3;

    private static double Dot(double[] x, double[] y) => x.Zip(y, (a, b) => a * b).Sum();

    [Fact]
    public void RmsNorm_GradientsMatchFiniteDifferences()
    {
        const int n = 3, c = 10;
        var x = GradientCheck.Random(n * c, 1);
        var w = GradientCheck.Random(c, 2);
        var r = GradientCheck.Random(n * c, 3);
        var rstd = new double[n];
        double Loss()
        {
            var o = new double[n * c];
            fixed (double* po = o, ps = rstd, px = x, pw = w)
            {
                LlamaLayers.RmsNormForward(po, ps, px, pw, n, c, 1e-5);
            }

            return Dot(o, r);
        }

        Loss();
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        fixed (double* pdx = dx, pdw = dw, pr = r, px = x, pw = w, ps = rstd)
        {
            LlamaLayers.RmsNormBackward(pdx, pdw, pr, px, pw, ps, n, c);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(x, 0, x.Length, Loss, i => dx[i]), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(w, 0, w.Length, Loss, i => dw[i]), 0, Tolerance);
    }

    [Fact]
    public void Rope_BackwardIsTheInverseRotation_AndPositionZeroIsUnchanged()
    {
        const int b = 1, t = 4, heads = 2, hd = 8;
        var x = GradientCheck.Random(b * t * heads * hd, 4);
        var r = GradientCheck.Random(x.Length, 5);
        var table = LlamaLayers.RopeTable<double>(t + 3, hd, 10000);
        double Loss()
        {
            var copy = (double[])x.Clone();
            fixed (double* p = copy)
            {
                LlamaLayers.Rope(p, b, t, heads, hd, table, t + 3, inverse: false);
            }

            return Dot(copy, r);
        }

        var rotated = (double[])x.Clone();
        fixed (double* p = rotated)
        {
            LlamaLayers.Rope(p, b, t, heads, hd, table, t + 3, inverse: false);
        }

        Assert.Equal(x[..(heads * hd)], rotated[..(heads * hd)]);

        // One row at an explicit position turns as that row of the sequence does.
        var third = x[(2 * heads * hd)..(3 * heads * hd)];
        fixed (double* p = third)
        {
            LlamaLayers.Rope(p, 1, 1, heads, hd, table, t + 3, inverse: false, position: 2);
        }

        Assert.Equal(rotated[(2 * heads * hd)..(3 * heads * hd)], third);
        var grad = (double[])r.Clone();
        fixed (double* p = grad)
        {
            LlamaLayers.Rope(p, b, t, heads, hd, table, t + 3, inverse: true);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(x, 0, x.Length, Loss, i => grad[i]), 0, Tolerance);
    }

    [Fact]
    public void SwiGlu_GradientsMatchFiniteDifferences()
    {
        const int n = 30;
        var gate = GradientCheck.Random(n, 6, 4);
        var up = GradientCheck.Random(n, 7, 2);
        var r = GradientCheck.Random(n, 8);
        double Loss()
        {
            var o = new double[n];
            fixed (double* po = o, pg = gate, pu = up)
            {
                LlamaLayers.SwiGluForward(po, pg, pu, n);
            }

            return Dot(o, r);
        }

        var dg = new double[n];
        var du = new double[n];
        fixed (double* pdg = dg, pdu = du, pr = r, pg = gate, pu = up)
        {
            LlamaLayers.SwiGluBackward(pdg, pdu, pr, pg, pu, n);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(gate, 0, n, Loss, i => dg[i]), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(up, 0, n, Loss, i => du[i]), 0, Tolerance);
    }

    [Fact]
    public void GroupedQueryAttention_GradientsMatchFiniteDifferences()
    {
        const int b = 2, t = 4, nh = 4, nkv = 2, hd = 4;
        var q = GradientCheck.Random(b * t * nh * hd, 9);
        var k = GradientCheck.Random(b * t * nkv * hd, 10);
        var v = GradientCheck.Random(b * t * nkv * hd, 11);
        var r = GradientCheck.Random(b * t * nh * hd, 12);
        var att = new double[b * nh * t * t];
        double Loss()
        {
            var o = new double[b * t * nh * hd];
            fixed (double* po = o, pa = att, pq = q, pk = k, pv = v)
            {
                LlamaLayers.AttentionForward(po, pa, pq, pk, pv, b, t, nh, nkv, hd);
            }

            return Dot(o, r);
        }

        Loss();
        var dq = new double[q.Length];
        var dk = new double[k.Length];
        var dv = new double[v.Length];
        fixed (double* pdq = dq, pdk = dk, pdv = dv, pr = r, pq = q, pk = k, pv = v, pa = att)
        {
            LlamaLayers.AttentionBackward(pdq, pdk, pdv, pr, pq, pk, pv, pa, b, t, nh, nkv, hd);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(q, 0, q.Length, Loss, i => dq[i], samples: 200), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(k, 0, k.Length, Loss, i => dk[i], samples: 200), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(v, 0, v.Length, Loss, i => dv[i], samples: 200), 0, Tolerance);
    }

    [Fact]
    public void GeluAndSwiGlu_OverSeveralPieces_GiveTheSameValuesOnOneAndTwoThreads()
    {
        // 2.5 pieces of the element-wise chunk, so the parallel path and a short last piece both run.
        var n = (5 * Layers.ElementwiseChunk / 2) + 3;
        var x = GradientCheck.Random(n, 41, 4).Select(v => (float)v).ToArray();
        var u = GradientCheck.Random(n, 42, 2).Select(v => (float)v).ToArray();
        var d = GradientCheck.Random(n, 43).Select(v => (float)v).ToArray();
        float[][] Run(int threads)
        {
            float[] gelu = new float[n], dgelu = new float[n], swiglu = new float[n], dgate = new float[n], dup = new float[n];
            using var workers = new Workers(threads);
            fixed (float* px = x, pu = u, pd = d, pg = gelu, pdg = dgelu, ps = swiglu, pga = dgate, pup = dup)
            {
                Layers.GeluForward(pg, px, n, workers);
                Layers.GeluBackward(pdg, px, pd, n, workers);
                LlamaLayers.SwiGluForward(ps, px, pu, n, workers);
                LlamaLayers.SwiGluBackward(pga, pup, pd, px, pu, n, workers);
            }

            return [gelu, dgelu, swiglu, dgate, dup];
        }

        var one = Run(1);
        var two = Run(2);
        for (var i = 0; i < one.Length; i++)
        {
            Assert.Equal(one[i], two[i]);
        }

        Assert.Equal(0.5f * x[^1] * (1 + MathF.Tanh(0.7978845608f * (x[^1] + (0.044715f * x[^1] * x[^1] * x[^1])))), one[0][^1], 4);
    }
}
