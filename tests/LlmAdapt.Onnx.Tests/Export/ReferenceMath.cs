using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>Float64 pieces the tiny reference models (<see cref="TinyGpt2"/>, <see cref="TinyLlama"/>) share.</summary>
internal static class ReferenceMath
{
    /// <summary>Adds the LoRA term s·(x·Aᵀ)·Bᵀ to <paramref name="y"/> [t, outF], with A [r, inF] and B [outF, r].</summary>
    public static void AddLora(double[] y, double[] x, int t, int inF, int outF, (float[] A, float[] B, int Rank, double Scale) lora)
    {
        var (a, b, r, scale) = lora;
        var hidden = new double[r];
        for (var i = 0; i < t; i++)
        {
            Array.Clear(hidden);
            for (var k = 0; k < r; k++)
            {
                for (var j = 0; j < inF; j++)
                {
                    hidden[k] += x[(i * inF) + j] * a[(k * inF) + j];
                }
            }

            for (var o = 0; o < outF; o++)
            {
                double sum = 0;
                for (var k = 0; k < r; k++)
                {
                    sum += hidden[k] * b[(o * r) + k];
                }

                y[(i * outF) + o] += scale * sum;
            }
        }
    }

    /// <summary>Puts a tensor of the given shape, drawn from N(<paramref name="mean"/>, <paramref name="std"/>²), into <paramref name="tensors"/>.</summary>
    public static void AddTensor(Dictionary<string, (float[] Values, long[] Shape)> tensors, string name, long[] shape, Random random, double std, double mean)
    {
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var values = Gaussian(random, count, std);
        for (var i = 0; i < count; i++)
        {
            values[i] += (float)mean;
        }

        tensors[name] = (values, shape);
    }

    /// <summary>Draws <paramref name="count"/> values from N(0, <paramref name="std"/>²) by Box–Muller.</summary>
    public static float[] Gaussian(Random random, int count, double std)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = (float)(std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }

        return values;
    }

    /// <summary>
    /// Writes LoRA updates as a PEFT adapter folder (PEFT's tensor names, A [r, in], B [out, r]) naming
    /// <paramref name="baseDirectory"/> as its base; <paramref name="features"/> gives a module's (in, out).
    /// </summary>
    public static async Task<string> SaveAdapterAsync(
        IReadOnlyDictionary<string, (float[] A, float[] B, int Rank, double Scale)> lora,
        Func<string, (long In, long Out)> features,
        IReadOnlyList<string> targetModules,
        bool fanInFanOut,
        string directory,
        string baseDirectory,
        double alpha)
    {
        Directory.CreateDirectory(directory);
        var writer = new SafeTensorsWriter();
        foreach (var (module, (a, b, r, _)) in lora)
        {
            var (inF, outF) = features(module);
            writer.Add($"base_model.model.{module}.lora_A.weight", a, [r, inF]);
            writer.Add($"base_model.model.{module}.lora_B.weight", b, [outF, r]);
        }

        await writer.WriteAsync(Path.Combine(directory, PeftAdapterConfig.WeightsFileName));
        await new PeftAdapterConfig
        {
            Rank = lora.Values.First().Rank,
            Alpha = alpha,
            TargetModules = targetModules,
            FanInFanOut = fanInFanOut,
            BaseModelNameOrPath = baseDirectory,
        }.WriteAsync(Path.Combine(directory, PeftAdapterConfig.FileName));
        return directory;
    }
}
