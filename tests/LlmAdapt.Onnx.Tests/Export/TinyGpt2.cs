using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// A small GPT-2 checkpoint with random weights in the engine's Hugging Face layout, and an independent float64 forward
/// over the same files (the engine's own forward is internal to LlmAdapt.Training), with or without a LoRA adapter.
/// Weights are larger than GPT-2's initialisation so logits spread over several units and a wrong op shows.
/// </summary>
internal sealed class TinyGpt2
{
    public TinyGpt2(int vocab, int context, int layers, int heads, int channels, int seed, string activation = "gelu_new")
    {
        Vocab = vocab;
        Context = context;
        Layers = layers;
        Heads = heads;
        Channels = channels;
        Activation = activation;
        var random = new Random(seed);
        int c = channels;
        Add("transformer.wte.weight", [vocab, c], random, 0.3, 0);
        Add("transformer.wpe.weight", [context, c], random, 0.3, 0);
        for (var l = 0; l < layers; l++)
        {
            var h = $"transformer.h.{l}.";
            Add(h + "ln_1.weight", [c], random, 0.1, 1);
            Add(h + "ln_1.bias", [c], random, 0.1, 0);
            Add(h + "attn.c_attn.weight", [c, 3 * c], random, 0.3, 0);
            Add(h + "attn.c_attn.bias", [3 * c], random, 0.1, 0);
            Add(h + "attn.c_proj.weight", [c, c], random, 0.2, 0);
            Add(h + "attn.c_proj.bias", [c], random, 0.1, 0);
            Add(h + "ln_2.weight", [c], random, 0.1, 1);
            Add(h + "ln_2.bias", [c], random, 0.1, 0);
            Add(h + "mlp.c_fc.weight", [c, 4 * c], random, 0.3, 0);
            Add(h + "mlp.c_fc.bias", [4 * c], random, 0.1, 0);
            Add(h + "mlp.c_proj.weight", [4 * c, c], random, 0.1, 0);
            Add(h + "mlp.c_proj.bias", [c], random, 0.1, 0);
        }

        Add("transformer.ln_f.weight", [c], random, 0.1, 1);
        Add("transformer.ln_f.bias", [c], random, 0.1, 0);
    }

    public int Vocab { get; }

    public int Context { get; }

    public int Layers { get; }

    public int Heads { get; }

    public int Channels { get; }

    public string Activation { get; }

    public Dictionary<string, (float[] Values, long[] Shape)> Tensors { get; } = new(StringComparer.Ordinal);

    /// <summary>LoRA updates by module name ("transformer.h.0.attn.c_attn"): A [r, in], B [out, r], scale alpha / r.</summary>
    public Dictionary<string, (float[] A, float[] B, int Rank, double Scale)> Lora { get; } = new(StringComparer.Ordinal);

    public static string NewDirectory(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-export-tests", $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public Task<string> SaveAsync(string directory)
        => ReferenceMath.SaveCheckpointAsync(directory, Tensors, new HuggingFaceModelConfig
        {
            ModelType = "gpt2",
            Architectures = ["GPT2LMHeadModel"],
            VocabSize = Vocab,
            NPositions = Context,
            NEmbd = Channels,
            NLayer = Layers,
            NHead = Heads,
            LayerNormEpsilon = 1e-5,
            ActivationFunction = Activation,
            BosTokenId = Vocab - 1,
            EosTokenId = Vocab - 1,
            TieWordEmbeddings = true,
            TorchDtype = "float32",
        });

    /// <summary>Attaches random LoRA updates (A and B both non-zero, as after training) to the given projections of every layer.</summary>
    public void AddLora(int rank, double alpha, int seed, params string[] sites)
        => ReferenceMath.AddRandomLora(Lora, Tensors, "transformer.h.", Layers, sites, inputMajor: true, rank, alpha, seed);

    /// <summary>Writes the LoRA updates as a PEFT adapter folder naming <paramref name="baseDirectory"/> as its base.</summary>
    public Task<string> SaveAdapterAsync(string directory, string baseDirectory, double alpha)
        => ReferenceMath.SaveAdapterAsync(
            Lora,
            module => (Tensors[module + ".weight"].Shape[0], Tensors[module + ".weight"].Shape[1]), // Conv1D: [in, out]
            [.. Lora.Keys.Select(k => k[(k.IndexOf(".h.", StringComparison.Ordinal) + 3)..]).Select(k => k[(k.IndexOf('.') + 1)..]).Distinct()],
            fanInFanOut: true,
            directory,
            baseDirectory,
            alpha);

    /// <summary>Logits [t, vocab] of one sequence at positions 0..t-1, in float64, LoRA applied unmerged (x·W + s·(x·Aᵀ)·Bᵀ).</summary>
    public double[] Forward(IReadOnlyList<int> tokens, bool withLora)
    {
        int t = tokens.Count, c = Channels, nh = Heads, d = c / nh, v = Vocab;
        var x = new double[t * c];
        var wte = Tensors["transformer.wte.weight"].Values;
        var wpe = Tensors["transformer.wpe.weight"].Values;
        for (var i = 0; i < t; i++)
        {
            for (var j = 0; j < c; j++)
            {
                x[(i * c) + j] = (double)wte[(tokens[i] * c) + j] + wpe[(i * c) + j];
            }
        }

        for (var l = 0; l < Layers; l++)
        {
            var h = $"transformer.h.{l}.";
            var qkv = Linear(LayerNorm(x, t, h + "ln_1"), t, h + "attn.c_attn", withLora);
            var att = ReferenceMath.CausalAttention(t, nh, nh, d, (qkv, 3 * c, 0), (qkv, 3 * c, c), (qkv, 3 * c, 2 * c));
            var proj = Linear(att, t, h + "attn.c_proj", withLora);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] += proj[i];
            }

            var fc = Linear(LayerNorm(x, t, h + "ln_2"), t, h + "mlp.c_fc", withLora);
            for (var i = 0; i < fc.Length; i++)
            {
                var u = fc[i];
                fc[i] = Activation == "gelu"
                    ? 0.5 * u * (1 + Erf(u / Math.Sqrt(2)))
                    : 0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + (0.044715 * u * u * u))));
            }

            var mlp = Linear(fc, t, h + "mlp.c_proj", withLora);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] += mlp[i];
            }
        }

        var lnf = LayerNorm(x, t, "transformer.ln_f");
        return ReferenceMath.Logits(lnf, t, c, wte, v);
    }

    private double[] LayerNorm(double[] x, int t, string prefix)
    {
        int c = Channels;
        var g = Tensors[prefix + ".weight"].Values;
        var b = Tensors[prefix + ".bias"].Values;
        var y = new double[x.Length];
        for (var i = 0; i < t; i++)
        {
            double mean = 0, variance = 0;
            for (var j = 0; j < c; j++)
            {
                mean += x[(i * c) + j];
            }

            mean /= c;
            for (var j = 0; j < c; j++)
            {
                variance += Math.Pow(x[(i * c) + j] - mean, 2);
            }

            var rstd = 1 / Math.Sqrt((variance / c) + 1e-5);
            for (var j = 0; j < c; j++)
            {
                y[(i * c) + j] = ((x[(i * c) + j] - mean) * rstd * g[j]) + b[j];
            }
        }

        return y;
    }

    private double[] Linear(double[] x, int t, string module, bool withLora)
    {
        var (w, shape) = Tensors[module + ".weight"];
        return ReferenceMath.Linear(x, t, w, (int)shape[0], (int)shape[1], inputMajor: true, Tensors[module + ".bias"].Values, withLora && Lora.TryGetValue(module, out var lora) ? lora : null);
    }

    private void Add(string name, long[] shape, Random random, double std, double mean)
        => ReferenceMath.AddTensor(Tensors, name, shape, random, std, mean);

    // Abramowitz–Stegun 7.1.26 is too coarse for a 1e-4 check; this series/continued-fraction pair is good to ~1e-15.
    private static double Erf(double x)
    {
        var ax = Math.Abs(x);
        double result;
        if (ax < 2.5)
        {
            double sum = ax, term = ax;
            for (var n = 1; n < 200; n++)
            {
                term *= -ax * ax / n;
                var add = term / ((2 * n) + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17)
                {
                    break;
                }
            }

            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // erfc continued fraction (Lentz), then erf = 1 − erfc.
            double f = ax, cPrev = ax, dPrev = 0;
            for (var n = 1; n < 200; n++)
            {
                var an = n / 2.0;
                dPrev = ax + (an * dPrev);
                dPrev = 1 / dPrev;
                cPrev = ax + (an / cPrev);
                var delta = cPrev * dPrev;
                f *= delta;
                if (Math.Abs(delta - 1) < 1e-16)
                {
                    break;
                }
            }

            result = 1 - (Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f);
        }

        return x < 0 ? -result : result;
    }
}
