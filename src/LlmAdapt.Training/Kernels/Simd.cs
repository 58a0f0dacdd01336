using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlmAdapt.Training.Kernels;

/// <summary>Fused multiply-add on the widest vectors the machine has, for <see cref="float"/> and <see cref="double"/>.</summary>
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
}
