using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Tests.Kernels;

public sealed unsafe class MatMulTests
{
    [Theory]
    [InlineData(1, 1, 1, false, false)]
    [InlineData(7, 13, 37, false, false)]
    [InlineData(50, 300, 70, false, false)]
    [InlineData(64, 48, 129, true, false)]
    [InlineData(13, 64, 33, false, true)]
    [InlineData(100, 17, 260, true, true)]
    public void Gemm_MatchesNaiveProduct_ForEveryTailAndTranspose(int m, int k, int n, bool transA, bool transB)
    {
        var a = GradientCheck.Random(m * k, 1).Select(x => (float)x).ToArray();
        var b = GradientCheck.Random(k * n, 2).Select(x => (float)x).ToArray();
        var c = GradientCheck.Random(m * n, 3).Select(x => (float)x).ToArray();
        var expected = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = c[(i * n) + j];
                for (var p = 0; p < k; p++)
                {
                    var av = transA ? a[(p * m) + i] : a[(i * k) + p];
                    var bv = transB ? b[(j * k) + p] : b[(p * n) + j];
                    sum += av * bv;
                }

                expected[(i * n) + j] = sum;
            }
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            MatMul.Gemm(pa, transA, pb, transB, pc, m, k, n, accumulate: true);
        }

        for (var i = 0; i < m * n; i++)
        {
            Assert.True(Math.Abs(c[i] - expected[i]) < 1e-4 * Math.Max(1, Math.Abs(expected[i])) + 1e-4, $"element {i}: {c[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void Gemm_IsDeterministic_AcrossThreads()
    {
        const int m = 97, k = 300, n = 515;
        var a = GradientCheck.Random(m * k, 4).Select(x => (float)x).ToArray();
        var b = GradientCheck.Random(k * n, 5).Select(x => (float)x).ToArray();
        var first = new float[m * n];
        var second = new float[m * n];
        fixed (float* pa = a, pb = b, p1 = first, p2 = second)
        {
            MatMul.Gemm(pa, pb, p1, m, k, n, accumulate: false);
            MatMul.Gemm(pa, pb, p2, m, k, n, accumulate: false);
        }

        Assert.Equal(first, second);
    }
}
