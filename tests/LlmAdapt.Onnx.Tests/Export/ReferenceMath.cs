using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>Float64 pieces the tiny reference models (<see cref="TinyGpt2"/>, <see cref="TinyLlama"/>) share.</summary>
internal static class ReferenceMath
{
    /// <summary>
    /// y [t, outF] = x · W (+ bias) (+ the LoRA term when <paramref name="lora"/> is given). W is [inF, outF] when
    /// <paramref name="inputMajor"/> (GPT-2's Conv1D), else [outF, inF] (nn.Linear).
    /// </summary>
    public static double[] Linear(double[] x, int t, float[] w, int inF, int outF, bool inputMajor, float[]? bias, (float[] A, float[] B, int Rank, double Scale)? lora)
    {
        var y = new double[t * outF];
        for (var i = 0; i < t; i++)
        {
            for (var o = 0; o < outF; o++)
            {
                double sum = bias is null ? 0 : bias[o];
                for (var k = 0; k < inF; k++)
                {
                    sum += x[(i * inF) + k] * (inputMajor ? w[(k * outF) + o] : w[(o * inF) + k]);
                }

                y[(i * outF) + o] = sum;
            }
        }

        if (lora is { } update)
        {
            AddLora(y, x, t, inF, outF, update);
        }

        return y;
    }

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

    /// <summary>
    /// Causal softmax attention of one sequence, [t, heads × d] out. Row i of q, k, v starts at i × stride + offset;
    /// query head h reads key/value head h / (heads / kvHeads) (grouped-query attention; kvHeads = heads for GPT-2).
    /// </summary>
    public static double[] CausalAttention(int t, int heads, int kvHeads, int d, (double[] Data, int Stride, int Offset) q, (double[] Data, int Stride, int Offset) k, (double[] Data, int Stride, int Offset) v)
    {
        var att = new double[t * heads * d];
        var group = heads / kvHeads;
        for (var head = 0; head < heads; head++)
        {
            var kvHead = head / group;
            for (var i = 0; i < t; i++)
            {
                var scores = new double[i + 1];
                var max = double.NegativeInfinity;
                for (var j = 0; j <= i; j++)
                {
                    double dot = 0;
                    for (var e = 0; e < d; e++)
                    {
                        dot += q.Data[(i * q.Stride) + q.Offset + (head * d) + e] * k.Data[(j * k.Stride) + k.Offset + (kvHead * d) + e];
                    }

                    scores[j] = dot / Math.Sqrt(d);
                    max = Math.Max(max, scores[j]);
                }

                double sum = 0;
                for (var j = 0; j <= i; j++)
                {
                    scores[j] = Math.Exp(scores[j] - max);
                    sum += scores[j];
                }

                for (var j = 0; j <= i; j++)
                {
                    for (var e = 0; e < d; e++)
                    {
                        att[(i * heads * d) + (head * d) + e] += scores[j] / sum * v.Data[(j * v.Stride) + v.Offset + (kvHead * d) + e];
                    }
                }
            }
        }

        return att;
    }

    /// <summary>Logits [t, vocab] = x [t, c] · Wᵀ with W [vocab, c] (a tied embedding or a separate head).</summary>
    public static double[] Logits(double[] x, int t, int c, float[] weights, int vocab)
    {
        var logits = new double[t * vocab];
        for (var i = 0; i < t; i++)
        {
            for (var o = 0; o < vocab; o++)
            {
                double sum = 0;
                for (var k = 0; k < c; k++)
                {
                    sum += x[(i * c) + k] * weights[(o * c) + k];
                }

                logits[(i * vocab) + o] = sum;
            }
        }

        return logits;
    }

    /// <summary>Writes <paramref name="tensors"/> as <c>model.safetensors</c> and <paramref name="config"/> as <c>config.json</c> into <paramref name="directory"/>.</summary>
    public static async Task<string> SaveCheckpointAsync(string directory, Dictionary<string, (float[] Values, long[] Shape)> tensors, HuggingFaceModelConfig config)
    {
        Directory.CreateDirectory(directory);
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        foreach (var (name, (values, shape)) in tensors)
        {
            writer.Add(name, values, shape);
        }

        await writer.WriteAsync(Path.Combine(directory, "model.safetensors"));
        await config.WriteAsync(Path.Combine(directory, HuggingFaceModelConfig.FileName));
        return directory;
    }

    /// <summary>
    /// Puts random LoRA updates (A and B both non-zero, as after training) for <paramref name="sites"/> of every layer into
    /// <paramref name="lora"/>, keyed "{layerPrefix}{l}.{site}"; the weight is [in, out] when <paramref name="inputMajor"/>
    /// (GPT-2's Conv1D), else [out, in].
    /// </summary>
    public static void AddRandomLora(
        Dictionary<string, (float[] A, float[] B, int Rank, double Scale)> lora,
        Dictionary<string, (float[] Values, long[] Shape)> tensors,
        string layerPrefix,
        int layers,
        IEnumerable<string> sites,
        bool inputMajor,
        int rank,
        double alpha,
        int seed)
    {
        var random = new Random(seed);
        foreach (var site in sites)
        {
            for (var l = 0; l < layers; l++)
            {
                var module = $"{layerPrefix}{l}.{site}";
                var shape = tensors[module + ".weight"].Shape;
                int inF = (int)shape[inputMajor ? 0 : 1], outF = (int)shape[inputMajor ? 1 : 0];
                lora[module] = (Gaussian(random, rank * inF, 0.3), Gaussian(random, outF * rank, 0.3), rank, alpha / rank);
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
