using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Tests.Kernels;

/// <summary>Every op's backward against central finite differences of its forward, in double, loss = Σ out · R.</summary>
public sealed unsafe class LayersGradientTests
{
    private const double Tolerance = 1e-3;

    private static double Dot(double[] x, double[] y) => x.Zip(y, (a, b) => a * b).Sum();

    [Fact]
    public void Linear_GradientsMatchFiniteDifferences()
    {
        const int n = 5, ic = 7, oc = 11;
        var x = GradientCheck.Random(n * ic, 1);
        var w = GradientCheck.Random(ic * oc, 2);
        var bias = GradientCheck.Random(oc, 3);
        var r = GradientCheck.Random(n * oc, 4);
        double Loss()
        {
            var o = new double[n * oc];
            fixed (double* po = o, px = x, pw = w, pb = bias)
            {
                Layers.LinearForward(po, px, pw, pb, n, ic, oc);
            }

            return Dot(o, r);
        }

        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[bias.Length];
        fixed (double* pdx = dx, pdw = dw, pdb = db, pr = r, px = x, pw = w)
        {
            Layers.LinearBackward(pdx, pdw, pdb, pr, px, pw, n, ic, oc);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(x, 0, x.Length, Loss, i => dx[i]), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(w, 0, w.Length, Loss, i => dw[i]), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(bias, 0, bias.Length, Loss, i => db[i]), 0, Tolerance);
    }

    [Fact]
    public void LayerNorm_GradientsMatchFiniteDifferences()
    {
        const int n = 4, c = 9;
        var x = GradientCheck.Random(n * c, 5);
        var w = GradientCheck.Random(c, 6);
        var bias = GradientCheck.Random(c, 7);
        var r = GradientCheck.Random(n * c, 8);
        var mean = new double[n];
        var rstd = new double[n];
        double Loss()
        {
            var o = new double[n * c];
            fixed (double* po = o, px = x, pw = w, pb = bias, pm = mean, ps = rstd)
            {
                Layers.LayerNormForward(po, pm, ps, px, pw, pb, n, c, 1e-5);
            }

            return Dot(o, r);
        }

        Loss();
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[bias.Length];
        fixed (double* pdx = dx, pdw = dw, pdb = db, pr = r, px = x, pw = w, pm = mean, ps = rstd)
        {
            Layers.LayerNormBackward(pdx, pdw, pdb, pr, px, pw, pm, ps, n, c);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(x, 0, x.Length, Loss, i => dx[i]), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(w, 0, w.Length, Loss, i => dw[i]), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(bias, 0, bias.Length, Loss, i => db[i]), 0, Tolerance);
    }

    [Theory]
    [InlineData(2, 5)]
    [InlineData(1, 61)]
    public void CausalAttention_GradientsMatchFiniteDifferences(int b, int t)
    {
        // t = 61 spans two blocks of query rows (48 + 13), so the keys past a block and the block edges are covered.
        const int c = 8, nh = 2;
        var qkv = GradientCheck.Random(b * t * 3 * c, 9);
        var r = GradientCheck.Random(b * t * c, 10);
        var att = new double[b * nh * t * t];
        double Loss()
        {
            var o = new double[b * t * c];
            fixed (double* po = o, pa = att, pq = qkv)
            {
                Layers.AttentionForward(po, pa, pq, b, t, c, nh);
            }

            return Dot(o, r);
        }

        Loss();
        var dqkv = new double[qkv.Length];
        fixed (double* pd = dqkv, pr = r, pq = qkv, pa = att)
        {
            Layers.AttentionBackward(pd, pr, pq, pa, b, t, c, nh);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(qkv, 0, qkv.Length, Loss, i => dqkv[i], samples: 1000), 0, Tolerance);
    }

    [Fact]
    public void CausalAttention_FutureTokensDoNotChangeEarlierOutputs()
    {
        const int b = 1, t = 6, c = 8, nh = 2;
        var qkv = GradientCheck.Random(b * t * 3 * c, 11);
        var att = new double[b * nh * t * t];
        var before = new double[b * t * c];
        var after = new double[b * t * c];
        fixed (double* po = before, pa = att, pq = qkv)
        {
            Layers.AttentionForward(po, pa, pq, b, t, c, nh);
        }

        for (var j = 0; j < 3 * c; j++)
        {
            qkv[((t - 1) * 3 * c) + j] += 1.0;
        }

        fixed (double* po = after, pa = att, pq = qkv)
        {
            Layers.AttentionForward(po, pa, pq, b, t, c, nh);
        }

        Assert.Equal(before.AsSpan(0, (t - 1) * c).ToArray(), after.AsSpan(0, (t - 1) * c).ToArray());
        Assert.NotEqual(before[^1], after[^1]);
    }

    [Fact]
    public void Gelu_GradientMatchesFiniteDifferences()
    {
        const int n = 40;
        var x = GradientCheck.Random(n, 12, 4);
        var r = GradientCheck.Random(n, 13);
        double Loss()
        {
            var o = new double[n];
            fixed (double* po = o, px = x)
            {
                Layers.GeluForward(po, px, n);
            }

            return Dot(o, r);
        }

        var dx = new double[n];
        fixed (double* pd = dx, px = x, pr = r)
        {
            Layers.GeluBackward(pd, px, pr, n);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(x, 0, n, Loss, i => dx[i]), 0, Tolerance);
    }

    [Fact]
    public void Encoder_GradientsMatchFiniteDifferences()
    {
        const int b = 2, t = 3, c = 4, v = 5;
        int[] tokens = [1, 4, 1, 0, 2, 4];
        var wte = GradientCheck.Random(v * c, 14);
        var wpe = GradientCheck.Random(t * c, 15);
        var r = GradientCheck.Random(b * t * c, 16);
        double Loss()
        {
            var o = new double[b * t * c];
            fixed (double* po = o, pe = wte, pp = wpe)
            {
                Layers.EncoderForward(po, tokens, pe, pp, b, t, c);
            }

            return Dot(o, r);
        }

        var dwte = new double[wte.Length];
        var dwpe = new double[wpe.Length];
        fixed (double* pe = dwte, pp = dwpe, pr = r)
        {
            Layers.EncoderBackward(pe, pp, pr, tokens, b, t, c);
        }

        Assert.InRange(GradientCheck.MaxRelativeError(wte, 0, wte.Length, Loss, i => dwte[i]), 0, Tolerance);
        Assert.InRange(GradientCheck.MaxRelativeError(wpe, 0, wpe.Length, Loss, i => dwpe[i]), 0, Tolerance);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void CrossEntropyThroughTheHead_GradientsMatchFiniteDifferences_AndIgnoreMaskedPositions(bool weighted, bool frozenHead)
    {
        // logits (N, V) = x (N, C) · Wᵀ (W stored [V, C]), then the weighted cross-entropy over three counted positions.
        const int n = 4, c = 5, v = 7;
        int[] targets = [3, -1, 0, 6];
        float[]? weights = weighted ? [2f, 1f, 0.5f, 1f] : null;
        var x = GradientCheck.Random(n * c, 17, 2);
        var w = GradientCheck.Random(v * c, 18, 2);
        var losses = new double[n];
        double Loss()
        {
            var logits = new double[n * v];
            fixed (double* pl = logits, ps = losses, px = x, pw = w)
            {
                MatMul.Gemm(px, false, pw, true, pl, n, c, v, accumulate: false);
                return Layers.SoftmaxCrossEntropyForward(pl, ps, targets, weights, n, v) / 3;
            }
        }

        var expected = 0.0;
        for (var i = 0; i < n; i++)
        {
            if (targets[i] < 0)
            {
                continue;
            }

            var z = Enumerable.Range(0, v).Select(j => Enumerable.Range(0, c).Sum(q => x[(i * c) + q] * w[(j * c) + q])).ToArray();
            expected += (Math.Log(z.Sum(Math.Exp)) - z[targets[i]]) * (weights?[i] ?? 1.0);
        }

        Assert.Equal(expected / 3, Loss(), 12);
        Assert.Equal(0.0, losses[1]);

        var probs = new double[n * v];
        var dx = GradientCheck.Random(n * c, 19);
        var dw = new double[w.Length];
        fixed (double* pp = probs, ps = losses, px = x, pw = w, pdx = dx, pdw = dw)
        {
            MatMul.Gemm(px, false, pw, true, pp, n, c, v, accumulate: false);
            Layers.SoftmaxCrossEntropyForward(pp, ps, targets, weights, n, v);
            Layers.CrossEntropyHeadBackward(pdx, frozenHead ? null : pdw, pp, px, pw, targets, weights, 1.0 / 3, n, c, v);
        }

        // dx is overwritten (the random start does not leak through); the probabilities are left intact for the caller.
        Assert.All(Enumerable.Range(0, n), i => Assert.Equal(1.0, probs.AsSpan(i * v, v).ToArray().Sum(), 12));
        Assert.All(dx.AsSpan(c, c).ToArray(), d => Assert.Equal(0.0, d));
        Assert.InRange(GradientCheck.MaxRelativeError(x, 0, x.Length, Loss, i => dx[i]), 0, Tolerance);
        if (frozenHead)
        {
            Assert.All(dw, d => Assert.Equal(0.0, d));
        }
        else
        {
            Assert.InRange(GradientCheck.MaxRelativeError(w, 0, w.Length, Loss, i => dw[i]), 0, Tolerance);
        }
    }

    [Fact]
    public void SoftmaxCrossEntropy_InFloat_MatchesDouble_OnAWideRow()
    {
        // The float path has its own vectorised exp; 3 rows of 1,003 logits spread over ±80 (odd length: the scalar tail runs too).
        const int n = 3, v = 1003;
        var wide = GradientCheck.Random(n * v, 21, 80);
        int[] targets = [5, 1002, 500];
        var reference = (double[])wide.Clone();
        var single = wide.Select(x => (float)x).ToArray();
        var lossesDouble = new double[n];
        var lossesFloat = new float[n];
        double expected, actual;
        fixed (double* pd = reference, pld = lossesDouble)
        fixed (float* pf = single, plf = lossesFloat)
        {
            expected = Layers.SoftmaxCrossEntropyForward(pd, pld, targets, null, n, v);
            actual = Layers.SoftmaxCrossEntropyForward(pf, plf, targets, null, n, v);
        }

        Assert.Equal(expected, actual, 3);
        for (var i = 0; i < reference.Length; i++)
        {
            Assert.True(Math.Abs(reference[i] - single[i]) <= 1e-6 + (1e-5 * reference[i]), $"probability {i}: {single[i]} vs {reference[i]}");
        }
    }

    [Fact]
    public void Residual_BackwardAddsTheSameGradientToBothInputs()
    {
        double[] da = [1, 1], db = [0, 2], dout = [0.5, -1];
        fixed (double* pa = da, pb = db, pd = dout)
        {
            Layers.ResidualBackward(pa, pb, pd, 2);
        }

        Assert.Equal([1.5, 0], da);
        Assert.Equal([0.5, 1], db);
    }
}
