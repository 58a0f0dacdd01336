using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlmAdapt.Training.Kernels;

/// <summary>
/// Fused multiply-add, dot, axpy and the softmax pieces (maximum, exp(x − max) with its sum) on the widest vectors the
/// machine has, for <see cref="float"/> and <see cref="double"/>.
/// </summary>
internal static class Simd
{
    /// <summary>Gets whether 512-bit vectors are accelerated (AVX-512); otherwise 256-bit vectors are used.</summary>
    public static bool Use512 { get; } = Vector512.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        return (a * b) + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        return (a * b) + c;
    }

    /// <summary>Returns the dot product of two equal-length vectors.</summary>
    public static unsafe T Dot<T>(T* x, T* y, int n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var i = 0;
        var sum = T.Zero;
        if (Use512 && n >= Vector512<T>.Count)
        {
            var acc = Vector512<T>.Zero;
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                acc = Fma(Vector512.Load(x + i), Vector512.Load(y + i), acc);
            }

            sum = Vector512.Sum(acc);
        }
        else if (n >= Vector256<T>.Count)
        {
            var acc = Vector256<T>.Zero;
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                acc = Fma(Vector256.Load(x + i), Vector256.Load(y + i), acc);
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>y += a·x over <paramref name="n"/> elements.</summary>
    public static unsafe void Axpy<T>(T a, T* x, T* y, int n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var i = 0;
        if (Use512)
        {
            var va = Vector512.Create(a);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                Fma(va, Vector512.Load(x + i), Vector512.Load(y + i)).Store(y + i);
            }
        }
        else
        {
            var va = Vector256.Create(a);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                Fma(va, Vector256.Load(x + i), Vector256.Load(y + i)).Store(y + i);
            }
        }

        for (; i < n; i++)
        {
            y[i] += a * x[i];
        }
    }
    /// <summary>Returns the largest of <paramref name="n"/> ≥ 1 values (no NaN handling: softmax inputs are finite).</summary>
    public static unsafe T Max<T>(T* x, int n)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var i = 0;
        var max = x[0];
        if (Use512 && n >= 4 * Vector512<T>.Count)
        {
            var w = Vector512<T>.Count;
            Vector512<T> m0 = Vector512.Load(x), m1 = m0, m2 = m0, m3 = m0;
            for (; i <= n - (4 * w); i += 4 * w)
            {
                m0 = Vector512.Max(m0, Vector512.Load(x + i));
                m1 = Vector512.Max(m1, Vector512.Load(x + i + w));
                m2 = Vector512.Max(m2, Vector512.Load(x + i + (2 * w)));
                m3 = Vector512.Max(m3, Vector512.Load(x + i + (3 * w)));
            }

            var m = Vector512.Max(Vector512.Max(m0, m1), Vector512.Max(m2, m3));
            for (var j = 0; j < w; j++)
            {
                max = T.Max(max, m[j]);
            }
        }
        else if (n >= Vector256<T>.Count)
        {
            var m = Vector256.Load(x);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                m = Vector256.Max(m, Vector256.Load(x + i));
            }

            for (var j = 0; j < Vector256<T>.Count; j++)
            {
                max = T.Max(max, m[j]);
            }
        }

        for (; i < n; i++)
        {
            max = T.Max(max, x[i]);
        }

        return max;
    }

    /// <summary>
    /// x ← exp(x − <paramref name="max"/>) in place over <paramref name="n"/> values, returning their sum, in one pass.
    /// Floats on AVX-512 use a Cephes-style exp on the vectors (2ⁿ · a degree-7 polynomial, relative error about 2·10⁻⁷;
    /// arguments below −87 give 2⁻¹²⁶·e^r rather than underflowing); doubles, and floats elsewhere, go through
    /// TensorPrimitives (whose float exp is computed through doubles: more exact, slower).
    /// </summary>
    public static unsafe T ExpShifted<T>(T* x, int n, T max)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) || !Use512)
        {
            var span = new Span<T>(x, n);
            TensorPrimitives.Subtract(span, max, span);
            TensorPrimitives.Exp<T>(span, span);
            return TensorPrimitives.Sum<T>(span);
        }

        var f = (float*)x;
        var m = float.CreateTruncating(max);
        var i = 0;
        var sum = 0f;
        var vm = Vector512.Create(m);
        var acc = Vector512<float>.Zero;
        for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            var e = Exp(Vector512.Load(f + i) - vm);
            e.Store(f + i);
            acc += e;
        }

        sum = Vector512.Sum(acc);
        for (; i < n; i++)
        {
            f[i] = MathF.Exp(f[i] - m);
            sum += f[i];
        }

        return T.CreateTruncating(sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Max(x, Vector512.Create(-87.33f));
        var k = Vector512.Round(x * Vector512.Create(1.44269504f));
        var r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(k) + Vector512.Create(127), 23).AsSingle();
        return p * scale;
    }
}
