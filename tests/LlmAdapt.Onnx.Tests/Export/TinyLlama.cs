using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// A small Llama checkpoint with random weights in Hugging Face's layout (nn.Linear weights [out, in]), and an
/// independent float64 forward written from Hugging Face's definition: RMSNorm, rotary embeddings in the rotate-half
/// convention, grouped-query attention (query head h reads key/value head h / (heads / kv_heads)), SwiGLU, with or
/// without a LoRA adapter applied unmerged.
/// </summary>
internal sealed class TinyLlama
{
    private static readonly string[] s_allSites = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];

    public TinyLlama(int vocab, int context, int layers, int heads, int kvHeads, int channels, int intermediate, int seed, bool tied = false, double ropeTheta = 10000, double rmsEps = 1e-5)
    {
        Vocab = vocab;
        Context = context;
        Layers = layers;
        Heads = heads;
        KvHeads = kvHeads;
        Channels = channels;
        Intermediate = intermediate;
        Tied = tied;
        RopeTheta = ropeTheta;
        RmsEps = rmsEps;
        var random = new Random(seed);
        int c = channels, d = channels / heads;
        Add("model.embed_tokens.weight", [vocab, c], random, 0.5, 0);
        for (var l = 0; l < layers; l++)
        {
            var h = $"model.layers.{l}.";
            Add(h + "input_layernorm.weight", [c], random, 0.1, 1);
            Add(h + "self_attn.q_proj.weight", [heads * d, c], random, 0.3, 0);
            Add(h + "self_attn.k_proj.weight", [kvHeads * d, c], random, 0.3, 0);
            Add(h + "self_attn.v_proj.weight", [kvHeads * d, c], random, 0.3, 0);
            Add(h + "self_attn.o_proj.weight", [c, heads * d], random, 0.2, 0);
            Add(h + "post_attention_layernorm.weight", [c], random, 0.1, 1);
            Add(h + "mlp.gate_proj.weight", [intermediate, c], random, 0.3, 0);
            Add(h + "mlp.up_proj.weight", [intermediate, c], random, 0.3, 0);
            Add(h + "mlp.down_proj.weight", [c, intermediate], random, 0.2, 0);
        }

        Add("model.norm.weight", [c], random, 0.1, 1);
        if (!tied)
        {
            Add("lm_head.weight", [vocab, c], random, 0.3, 0);
        }
    }

    public int Vocab { get; }

    public int Context { get; }

    public int Layers { get; }

    public int Heads { get; }

    public int KvHeads { get; }

    public int Channels { get; }

    public int Intermediate { get; }

    public bool Tied { get; }

    public double RopeTheta { get; }

    public double RmsEps { get; }

    public int HeadSize => Channels / Heads;

    /// <summary>Gets Hugging Face's <c>rope_scaling</c> to write and apply: <c>llama3</c> (factor, low/high frequency factors, original context) or <c>linear</c> (factor), or none.</summary>
    public (string Type, double Factor, double Low, double High, double Original)? RopeScaling { get; init; }

    public int BosTokenId { get; init; } = 1;

    public int EosTokenId { get; init; } = 2;

    public Dictionary<string, (float[] Values, long[] Shape)> Tensors { get; } = new(StringComparer.Ordinal);

    /// <summary>LoRA updates by module name ("model.layers.0.self_attn.q_proj"): A [r, in], B [out, r], scale alpha / r.</summary>
    public Dictionary<string, (float[] A, float[] B, int Rank, double Scale)> Lora { get; } = new(StringComparer.Ordinal);

    public static IReadOnlyList<string> AllSites => s_allSites;

    public Task<string> SaveAsync(string directory)
        => ReferenceMath.SaveCheckpointAsync(directory, Tensors, new HuggingFaceModelConfig
        {
            ModelType = "llama",
            Architectures = ["LlamaForCausalLM"],
            VocabSize = Vocab,
            HiddenSize = Channels,
            IntermediateSize = Intermediate,
            NumHiddenLayers = Layers,
            NumAttentionHeads = Heads,
            NumKeyValueHeads = KvHeads,
            MaxPositionEmbeddings = Context,
            RmsNormEps = RmsEps,
            RopeTheta = RopeTheta,
            TieWordEmbeddings = Tied,
            BosTokenId = BosTokenId,
            EosTokenId = EosTokenId,
            TorchDtype = "float32",
            Extra = RopeScaling is not { } scaling ? null : new Dictionary<string, System.Text.Json.JsonElement>
            {
                ["rope_scaling"] = System.Text.Json.JsonSerializer.SerializeToElement(new Dictionary<string, object>
                {
                    ["rope_type"] = scaling.Type, ["factor"] = scaling.Factor, ["low_freq_factor"] = scaling.Low,
                    ["high_freq_factor"] = scaling.High, ["original_max_position_embeddings"] = scaling.Original,
                }),
            },
        });

    /// <summary>Attaches random LoRA updates (A and B both non-zero, as after training) to the given projections of every layer.</summary>
    public void AddLora(int rank, double alpha, int seed, IEnumerable<string> sites)
        => ReferenceMath.AddRandomLora(Lora, Tensors, "model.layers.", Layers, sites, inputMajor: false, rank, alpha, seed);

    /// <summary>Writes the LoRA updates as a PEFT adapter folder (PEFT's tensor names) naming <paramref name="baseDirectory"/> as its base.</summary>
    public Task<string> SaveAdapterAsync(string directory, string baseDirectory, double alpha)
        => ReferenceMath.SaveAdapterAsync(
            Lora,
            module => (Tensors[module + ".weight"].Shape[1], Tensors[module + ".weight"].Shape[0]), // nn.Linear: [out, in]
            [.. Lora.Keys.Select(k => k[(k.LastIndexOf('.') + 1)..]).Distinct()],
            fanInFanOut: false,
            directory,
            baseDirectory,
            alpha);

    /// <summary>Logits [t, vocab] of one sequence at positions 0..t-1, in float64.</summary>
    public double[] Forward(IReadOnlyList<int> tokens, bool withLora)
    {
        int t = tokens.Count, c = Channels, nh = Heads, kvh = KvHeads, d = HeadSize, v = Vocab;
        var x = new double[t * c];
        var embedding = Tensors["model.embed_tokens.weight"].Values;
        for (var i = 0; i < t; i++)
        {
            for (var j = 0; j < c; j++)
            {
                x[(i * c) + j] = embedding[(tokens[i] * c) + j];
            }
        }

        for (var l = 0; l < Layers; l++)
        {
            var h = $"model.layers.{l}.";
            var normed = RmsNorm(x, t, h + "input_layernorm");
            var q = Linear(normed, t, h + "self_attn.q_proj", withLora);
            var k = Linear(normed, t, h + "self_attn.k_proj", withLora);
            var val = Linear(normed, t, h + "self_attn.v_proj", withLora);
            Rope(q, t, nh);
            Rope(k, t, kvh);
            var att = ReferenceMath.CausalAttention(t, nh, kvh, d, (q, nh * d, 0), (k, kvh * d, 0), (val, kvh * d, 0));
            var projected = Linear(att, t, h + "self_attn.o_proj", withLora);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] += projected[i];
            }

            var y = RmsNorm(x, t, h + "post_attention_layernorm");
            var gate = Linear(y, t, h + "mlp.gate_proj", withLora);
            var up = Linear(y, t, h + "mlp.up_proj", withLora);
            for (var i = 0; i < gate.Length; i++)
            {
                gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
            }

            var down = Linear(gate, t, h + "mlp.down_proj", withLora);
            for (var i = 0; i < x.Length; i++)
            {
                x[i] += down[i];
            }
        }

        var final = RmsNorm(x, t, "model.norm");
        var output = Tensors[Tied ? "model.embed_tokens.weight" : "lm_head.weight"].Values;
        return ReferenceMath.Logits(final, t, c, output, v);
    }

    /// <summary>Turns each head's pair (e, e + D/2) at position i by i·θ^(−2e/D), in place; x is (t, heads, D).</summary>
    private void Rope(double[] x, int t, int heads)
    {
        var d = HeadSize;
        var half = d / 2;
        for (var i = 0; i < t; i++)
        {
            for (var head = 0; head < heads; head++)
            {
                var o = (i * heads * d) + (head * d);
                for (var e = 0; e < half; e++)
                {
                    var angle = i * Frequency(e);
                    double a = x[o + e], b = x[o + e + half];
                    x[o + e] = (a * Math.Cos(angle)) - (b * Math.Sin(angle));
                    x[o + e + half] = (b * Math.Cos(angle)) + (a * Math.Sin(angle));
                }
            }
        }
    }

    /// <summary>Pair e's rotary frequency, with rope_scaling as Hugging Face's _compute_llama3_parameters / linear scaling define it.</summary>
    private double Frequency(int e)
    {
        var frequency = 1 / Math.Pow(RopeTheta, 2.0 * e / HeadSize);
        if (RopeScaling is not { } s)
        {
            return frequency;
        }

        if (s.Type == "linear")
        {
            return frequency / s.Factor;
        }

        var wavelength = 2 * Math.PI / frequency;
        var scaled = wavelength > s.Original / s.Low ? frequency / s.Factor : frequency;
        var medium = !(wavelength < s.Original / s.High) && !(wavelength > s.Original / s.Low);
        var smooth = ((s.Original / wavelength) - s.Low) / (s.High - s.Low);
        return medium ? ((1 - smooth) * scaled / s.Factor) + (smooth * scaled) : scaled;
    }

    private double[] RmsNorm(double[] x, int t, string prefix)
    {
        int c = Channels;
        var g = Tensors[prefix + ".weight"].Values;
        var y = new double[x.Length];
        for (var i = 0; i < t; i++)
        {
            double squares = 0;
            for (var j = 0; j < c; j++)
            {
                squares += x[(i * c) + j] * x[(i * c) + j];
            }

            var inverse = 1 / Math.Sqrt((squares / c) + RmsEps);
            for (var j = 0; j < c; j++)
            {
                y[(i * c) + j] = x[(i * c) + j] * inverse * g[j];
            }
        }

        return y;
    }

    /// <summary>y = x·Wᵀ (+ s·(x·Aᵀ)·Bᵀ) with W [out, in].</summary>
    private double[] Linear(double[] x, int t, string module, bool withLora)
    {
        var (w, shape) = Tensors[module + ".weight"];
        return ReferenceMath.Linear(x, t, w, (int)shape[1], (int)shape[0], inputMajor: false, bias: null, withLora && Lora.TryGetValue(module, out var lora) ? lora : null);
    }

    private void Add(string name, long[] shape, Random random, double std, double mean)
        => ReferenceMath.AddTensor(Tensors, name, shape, random, std, mean);
}
