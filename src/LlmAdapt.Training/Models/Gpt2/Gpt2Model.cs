using System.Numerics;
using LlmAdapt.Training.Kernels;
using LlmAdapt.Training.Lora;

namespace LlmAdapt.Training.Models.Gpt2;

/// <summary>
/// GPT-2 with hand-written forward and backward passes, generic over float (training) and double (gradient checks).
/// Parameters live in one flat buffer laid out tensor by tensor under Hugging Face's names and shapes (Conv1D weights
/// are [in, out]), so checkpoints copy straight in and out. Activations are planned once per (B, T).
/// </summary>
internal sealed unsafe class Gpt2Model<T> : IDecoderModel<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const int SiteAttn = 0;
    private const int SiteAttnProj = 1;
    private const int SiteFc = 2;
    private const int SiteMlpProj = 3;

    private readonly Dictionary<string, ParameterTensor> _byName;
    private readonly T _eps;
    private Activations? _acts;
    private int[]? _inputs;
    private int[]? _targets;
    private IReadOnlyList<TrainableSlice<T>>? _trainable;

    public Gpt2Model(Gpt2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Tensors = BuildLayout(config);
        _byName = Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Parameters = new PinnedBuffer<T>(Tensors[^1].Offset + Tensors[^1].Length);
        _eps = T.CreateChecked(config.LayerNormEpsilon);
    }

    public Gpt2Config Config { get; }

    /// <summary>Gets the parameter tensors in buffer order.</summary>
    public IReadOnlyList<ParameterTensor> Tensors { get; }

    public PinnedBuffer<T> Parameters { get; }

    public PinnedBuffer<T>? Gradients { get; private set; }

    public LoraState<T>? Lora { get; private set; }

    public int VocabSize => Config.VocabSize;

    public int ContextLength => Config.ContextLength;

    public bool Training { get; set; }

    public int CountedTargets { get; private set; }

    public PinnedBuffer<T> Probabilities => _acts?.Logits ?? throw new InvalidOperationException("Run Forward first.");

    public IReadOnlyList<TrainableSlice<T>> Trainable => _trainable ??= BuildTrainable();

    /// <summary>The linear projections of a block, by site: name, in and out features.</summary>
    public static (string Name, int In, int Out)[] Sites(Gpt2Config config)
    {
        var c = config.Channels;
        return [("attn.c_attn", c, 3 * c), ("attn.c_proj", c, c), ("mlp.c_fc", c, 4 * c), ("mlp.c_proj", 4 * c, c)];
    }

    public ParameterTensor Tensor(string name) => _byName[name];

    public Span<T> Values(string name) => Parameters.Span.Slice(_byName[name].Offset, _byName[name].Length);

    /// <summary>Initialises like GPT-2: N(0, 0.02) weights, residual projections scaled by 1/√(2L), zero biases, unit norms.</summary>
    public void InitializeRandom(int seed)
    {
        var random = new Random(seed);
        var residualStd = 0.02 / Math.Sqrt(2.0 * Config.Layers);
        foreach (var tensor in Tensors)
        {
            var span = Parameters.Span.Slice(tensor.Offset, tensor.Length);
            if (tensor.Name.EndsWith("ln_1.weight", StringComparison.Ordinal) || tensor.Name.EndsWith("ln_2.weight", StringComparison.Ordinal) || tensor.Name.EndsWith("ln_f.weight", StringComparison.Ordinal))
            {
                span.Fill(T.One);
            }
            else if (tensor.Shape.Length == 1)
            {
                span.Clear();
            }
            else
            {
                var std = tensor.Name.EndsWith("c_proj.weight", StringComparison.Ordinal) ? residualStd : 0.02;
                for (var i = 0; i < span.Length; i++)
                {
                    span[i] = T.CreateChecked(std * Gaussian(random));
                }
            }
        }
    }

    /// <summary>Attaches LoRA adapters to the projections <paramref name="options"/> targets; the base is then frozen.</summary>
    public LoraState<T> AttachLora(LoraOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var modules = new List<LoraModule<T>>();
        var offset = 0;
        var r = options.Rank;
        var sites = Sites(Config);
        for (var l = 0; l < Config.Layers; l++)
        {
            for (var s = 0; s < sites.Length; s++)
            {
                var (name, inF, outF) = sites[s];
                var full = $"transformer.h.{l}.{name}";
                if (!options.TargetModules.Any(t => full == t || full.EndsWith("." + t, StringComparison.Ordinal)))
                {
                    continue;
                }

                modules.Add(new LoraModule<T> { Name = full, Layer = l, Site = s, InFeatures = inF, OutFeatures = outF, OffsetA = offset, OffsetB = offset + (r * inF) });
                offset += (r * inF) + (outF * r);
            }
        }

        if (modules.Count == 0)
        {
            throw new ArgumentException($"No projection matches target modules [{string.Join(", ", options.TargetModules)}]; GPT-2 has {string.Join(", ", sites.Select(s => s.Name))}.", nameof(options));
        }

        var state = new LoraState<T>(options, modules, offset) { DropoutRandom = new Random(seed ^ 0x5EED) };

        // As PEFT does: A uniform in ±1/√in (Kaiming with a = √5), B zero, so the adapted model starts equal to the base.
        var random = new Random(seed);
        foreach (var m in modules)
        {
            var bound = 1.0 / Math.Sqrt(m.InFeatures);
            var a = state.Parameters.Span.Slice(m.OffsetA, r * m.InFeatures);
            for (var i = 0; i < a.Length; i++)
            {
                a[i] = T.CreateChecked(((random.NextDouble() * 2) - 1) * bound);
            }
        }

        Lora = state;
        _trainable = null;
        _acts = null;
        return state;
    }

    /// <summary>Folds the adapters into the base weights (W[in, out] += scale · Aᵀ·Bᵀ) and detaches them.</summary>
    public void MergeLora()
    {
        var lora = Lora ?? throw new InvalidOperationException("No LoRA adapters are attached.");
        var sites = Sites(Config);
        foreach (var m in lora.Modules)
        {
            var w = _byName[$"transformer.h.{m.Layer}.{sites[m.Site].Name}.weight"];
            var delta = new PinnedBuffer<T>((long)m.InFeatures * m.OutFeatures);
            MatMul.Gemm(lora.Parameters.Pointer + m.OffsetA, true, lora.Parameters.Pointer + m.OffsetB, true, delta.Pointer, m.InFeatures, lora.Options.Rank, m.OutFeatures, accumulate: false);
            var target = Parameters.Span.Slice(w.Offset, w.Length);
            for (var i = 0; i < target.Length; i++)
            {
                target[i] += lora.Scaling * delta.Span[i];
            }
        }

        Lora = null;
        _trainable = null;
        _acts = null;
    }

    // ------------------------------------------------------------------ forward

    public double Forward(int[] inputs, int[]? targets, int b, int t)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int c = Config.Channels, v = Config.VocabSize, nh = Config.Heads, n = b * t;
        if (t > Config.ContextLength || t <= 0 || b <= 0)
        {
            throw new ArgumentException($"Sequence of {t} tokens, context is {Config.ContextLength} (batch {b}).");
        }

        if (inputs.Length < n || (targets is not null && targets.Length < n))
        {
            throw new ArgumentException($"Expected {n} inputs and targets for batch {b} × {t}; got {inputs.Length} and {targets?.Length}.");
        }

        for (var i = 0; i < n; i++)
        {
            if ((uint)inputs[i] >= (uint)v || (targets is not null && targets[i] >= v))
            {
                throw new ArgumentOutOfRangeException(nameof(inputs), $"Token id {Math.Max(inputs[i], targets?[i] ?? 0)} at position {i} is outside the vocabulary of {v}.");
            }
        }

        var a = EnsureActivations(b, t);
        _inputs = inputs;
        _targets = targets;
        Layers.EncoderForward(a.Encoded.Pointer, inputs, P("transformer.wte.weight"), P("transformer.wpe.weight"), b, t, c);
        var residual = a.Encoded.Pointer;
        for (var l = 0; l < Config.Layers; l++)
        {
            var h = $"transformer.h.{l}.";
            var la = a.Blocks[l];
            Layers.LayerNormForward(la.Ln1.Pointer, la.Ln1Mean.Pointer, la.Ln1Rstd.Pointer, residual, P(h + "ln_1.weight"), P(h + "ln_1.bias"), n, c, _eps);
            Linear(l, SiteAttn, la.Qkv.Pointer, la.Ln1.Pointer, n);
            Layers.AttentionForward(la.AttY.Pointer, la.Att.Pointer, la.Qkv.Pointer, b, t, c, nh);
            Linear(l, SiteAttnProj, la.AttProj.Pointer, la.AttY.Pointer, n);
            Layers.ResidualForward(la.Residual2.Pointer, residual, la.AttProj.Pointer, n * c);
            Layers.LayerNormForward(la.Ln2.Pointer, la.Ln2Mean.Pointer, la.Ln2Rstd.Pointer, la.Residual2.Pointer, P(h + "ln_2.weight"), P(h + "ln_2.bias"), n, c, _eps);
            Linear(l, SiteFc, la.Fch.Pointer, la.Ln2.Pointer, n);
            Layers.GeluForward(la.FchGelu.Pointer, la.Fch.Pointer, n * 4 * c);
            Linear(l, SiteMlpProj, la.FcProj.Pointer, la.FchGelu.Pointer, n);
            Layers.ResidualForward(la.Residual3.Pointer, la.Residual2.Pointer, la.FcProj.Pointer, n * c);
            residual = la.Residual3.Pointer;
        }

        Layers.LayerNormForward(a.LnF.Pointer, a.LnFMean.Pointer, a.LnFRstd.Pointer, residual, P("transformer.ln_f.weight"), P("transformer.ln_f.bias"), n, c, _eps);

        // Tied head: logits (N, V) = lnf (N, C) · wteᵀ.
        MatMul.Gemm(a.LnF.Pointer, false, P("transformer.wte.weight"), true, a.Logits.Pointer, n, c, v, accumulate: false);
        var total = Layers.SoftmaxCrossEntropyForward(a.Logits.Pointer, a.Losses.Pointer, targets, n, v);
        CountedTargets = targets?.Take(n).Count(x => x >= 0) ?? 0;
        return CountedTargets == 0 ? double.NaN : total / CountedTargets;
    }

    // ------------------------------------------------------------------ backward

    public void Backward(double lossScale = 1.0)
    {
        var a = _acts ?? throw new InvalidOperationException("Run Forward with targets before Backward.");
        var targets = _targets ?? throw new InvalidOperationException("Backward needs the targets of the last Forward.");
        var inputs = _inputs!;
        int b = a.B, t = a.T, c = Config.Channels, v = Config.VocabSize, nh = Config.Heads, n = b * t;
        var frozen = Lora is not null;
        Gradients ??= new PinnedBuffer<T>(Parameters.Length);
        var scale = CountedTargets == 0 ? T.Zero : T.CreateChecked(lossScale / CountedTargets);

        // The probabilities become dlogits in place.
        Layers.SoftmaxCrossEntropyBackward(a.Logits.Pointer, targets, n, v, scale);
        a.DLnF.Clear();
        MatMul.Gemm(a.Logits.Pointer, a.Wte(this), a.DLnF.Pointer, n, v, c, accumulate: true);
        if (!frozen)
        {
            MatMul.Gemm(a.Logits.Pointer, true, a.LnF.Pointer, false, G("transformer.wte.weight"), v, n, c, accumulate: true);
        }

        var last = Config.Layers == 0 ? a.Encoded.Pointer : a.Blocks[^1].Residual3.Pointer;
        a.DResidual.Clear();
        Layers.LayerNormBackward(a.DResidual.Pointer, G("transformer.ln_f.weight", frozen), G("transformer.ln_f.bias", frozen), a.DLnF.Pointer, last, P("transformer.ln_f.weight"), a.LnFMean.Pointer, a.LnFRstd.Pointer, n, c);
        var dres = a.DResidual.Pointer;
        for (var l = Config.Layers - 1; l >= 0; l--)
        {
            var h = $"transformer.h.{l}.";
            var la = a.Blocks[l];
            var residualIn = l == 0 ? a.Encoded.Pointer : a.Blocks[l - 1].Residual3.Pointer;

            // residual3 = residual2 + fcproj: both receive dres.
            a.DFchGelu.Clear();
            LinearBackward(l, SiteMlpProj, a.DFchGelu.Pointer, dres, la.FchGelu.Pointer, n, frozen);
            a.DFch.Clear();
            Layers.GeluBackward(a.DFch.Pointer, la.Fch.Pointer, a.DFchGelu.Pointer, n * 4 * c);
            a.DLn.Clear();
            LinearBackward(l, SiteFc, a.DLn.Pointer, a.DFch.Pointer, la.Ln2.Pointer, n, frozen);
            Layers.LayerNormBackward(dres, G(h + "ln_2.weight", frozen), G(h + "ln_2.bias", frozen), a.DLn.Pointer, la.Residual2.Pointer, P(h + "ln_2.weight"), la.Ln2Mean.Pointer, la.Ln2Rstd.Pointer, n, c);

            // residual2 = residualIn + attproj.
            a.DAttY.Clear();
            LinearBackward(l, SiteAttnProj, a.DAttY.Pointer, dres, la.AttY.Pointer, n, frozen);
            a.DQkv.Clear();
            Layers.AttentionBackward(a.DQkv.Pointer, a.DAttY.Pointer, la.Qkv.Pointer, la.Att.Pointer, b, t, c, nh);
            a.DLn.Clear();
            LinearBackward(l, SiteAttn, a.DLn.Pointer, a.DQkv.Pointer, la.Ln1.Pointer, n, frozen);
            Layers.LayerNormBackward(dres, G(h + "ln_1.weight", frozen), G(h + "ln_1.bias", frozen), a.DLn.Pointer, residualIn, P(h + "ln_1.weight"), la.Ln1Mean.Pointer, la.Ln1Rstd.Pointer, n, c);
        }

        if (!frozen)
        {
            Layers.EncoderBackward(G("transformer.wte.weight"), G("transformer.wpe.weight"), dres, inputs, b, t, c);
        }
    }

    public void ZeroGrad()
    {
        Gradients?.Clear();
        Lora?.Gradients.Clear();
    }

    // ------------------------------------------------------------------ projections with optional LoRA

    private void Linear(int layer, int site, T* output, T* input, int n)
    {
        var (name, inF, outF) = Sites(Config)[site];
        var prefix = $"transformer.h.{layer}.{name}.";
        Layers.LinearForward(output, input, P(prefix + "weight"), P(prefix + "bias"), n, inF, outF);
        if (Lora?.Find(layer, site) is not { } m)
        {
            return;
        }

        var lora = Lora;
        var r = lora.Options.Rank;
        var x = input;
        if (Training && lora.Options.Dropout > 0)
        {
            var keep = 1.0 - lora.Options.Dropout;
            var kept = T.CreateChecked(1.0 / keep);
            var mask = m.Mask!.Span;
            var dropped = m.DroppedInput!.Span;
            for (var i = 0; i < n * inF; i++)
            {
                mask[i] = lora.DropoutRandom.NextDouble() < keep ? kept : T.Zero;
                dropped[i] = input[i] * mask[i];
            }

            x = m.DroppedInput.Pointer;
        }
        else if (m.DroppedInput is not null)
        {
            new Span<T>(input, n * inF).CopyTo(m.DroppedInput.Span);
            m.Mask!.Span.Fill(T.One);
            x = m.DroppedInput.Pointer;
        }

        // h (N, r) = scale · x · Aᵀ; out += h · Bᵀ.
        var hidden = m.Hidden!;
        MatMul.Gemm(x, false, lora.Parameters.Pointer + m.OffsetA, true, hidden.Pointer, n, inF, r, accumulate: false);
        var hs = hidden.Span[..(n * r)];
        System.Numerics.Tensors.TensorPrimitives.Multiply(hs, lora.Scaling, hs);
        MatMul.Gemm(hidden.Pointer, false, lora.Parameters.Pointer + m.OffsetB, true, output, n, r, outF, accumulate: true);
    }

    private void LinearBackward(int layer, int site, T* dinput, T* doutput, T* input, int n, bool frozen)
    {
        var (name, inF, outF) = Sites(Config)[site];
        var prefix = $"transformer.h.{layer}.{name}.";
        Layers.LinearBackward(dinput, G(prefix + "weight", frozen), G(prefix + "bias", frozen), doutput, input, P(prefix + "weight"), n, inF, outF);
        if (Lora?.Find(layer, site) is not { } m)
        {
            return;
        }

        var lora = Lora;
        var r = lora.Options.Rank;
        var pa = lora.Parameters.Pointer + m.OffsetA;
        var pb = lora.Parameters.Pointer + m.OffsetB;
        var ga = lora.Gradients.Pointer + m.OffsetA;
        var gb = lora.Gradients.Pointer + m.OffsetB;
        var x = m.DroppedInput is not null ? m.DroppedInput.Pointer : input;

        // dB (out, r) += doutᵀ · h;  dh (N, r) = scale · dout · B;  dA (r, in) += dhᵀ · x;  dx += (dh · A) ⊙ mask.
        MatMul.Gemm(doutput, true, m.Hidden!.Pointer, false, gb, outF, n, r, accumulate: true);
        var dh = new PinnedBuffer<T>((long)n * r);
        MatMul.Gemm(doutput, pb, dh.Pointer, n, outF, r, accumulate: false);
        System.Numerics.Tensors.TensorPrimitives.Multiply(dh.Span, lora.Scaling, dh.Span);
        MatMul.Gemm(dh.Pointer, true, x, false, ga, r, n, inF, accumulate: true);
        if (m.Mask is null)
        {
            MatMul.Gemm(dh.Pointer, pa, dinput, n, r, inF, accumulate: true);
        }
        else
        {
            var dx = new PinnedBuffer<T>((long)n * inF);
            MatMul.Gemm(dh.Pointer, pa, dx.Pointer, n, r, inF, accumulate: false);
            var mask = m.Mask.Span;
            for (var i = 0; i < n * inF; i++)
            {
                dinput[i] += dx.Span[i] * mask[i];
            }
        }
    }

    // ------------------------------------------------------------------ plumbing

    private T* P(string name) => Parameters.Pointer + _byName[name].Offset;

    private T* G(string name, bool frozen = false) => frozen ? null : Gradients!.Pointer + _byName[name].Offset;

    private IReadOnlyList<TrainableSlice<T>> BuildTrainable()
    {
        if (Lora is { } lora)
        {
            return lora.Modules.SelectMany(m => new[]
            {
                new TrainableSlice<T>(m.Name + ".lora_A.weight", lora.Parameters, lora.Gradients, m.OffsetA, lora.Options.Rank * m.InFeatures, true),
                new TrainableSlice<T>(m.Name + ".lora_B.weight", lora.Parameters, lora.Gradients, m.OffsetB, m.OutFeatures * lora.Options.Rank, true),
            }).ToList();
        }

        Gradients ??= new PinnedBuffer<T>(Parameters.Length);
        return Tensors.Select(x => new TrainableSlice<T>(x.Name, Parameters, Gradients, x.Offset, x.Length, x.Shape.Length >= 2)).ToList();
    }

    private Activations EnsureActivations(int b, int t)
    {
        if (_acts is { } existing && existing.B == b && existing.T == t)
        {
            return existing;
        }

        _acts = new Activations(Config, b, t);
        if (Lora is { } lora)
        {
            foreach (var m in lora.Modules)
            {
                m.Hidden = new PinnedBuffer<T>((long)b * t * lora.Options.Rank);
                if (lora.Options.Dropout > 0)
                {
                    m.DroppedInput = new PinnedBuffer<T>((long)b * t * m.InFeatures);
                    m.Mask = new PinnedBuffer<T>((long)b * t * m.InFeatures);
                }
            }
        }

        return _acts;
    }

    private static List<ParameterTensor> BuildLayout(Gpt2Config config)
    {
        long c = config.Channels;
        var list = new List<ParameterTensor>();
        var offset = 0;
        void Add(string name, params long[] shape)
        {
            var tensor = new ParameterTensor(name, shape, offset);
            list.Add(tensor);
            offset = checked(offset + tensor.Length);
        }

        Add("transformer.wte.weight", config.VocabSize, c);
        Add("transformer.wpe.weight", config.ContextLength, c);
        for (var l = 0; l < config.Layers; l++)
        {
            var h = $"transformer.h.{l}.";
            Add(h + "ln_1.weight", c);
            Add(h + "ln_1.bias", c);
            Add(h + "attn.c_attn.weight", c, 3 * c);
            Add(h + "attn.c_attn.bias", 3 * c);
            Add(h + "attn.c_proj.weight", c, c);
            Add(h + "attn.c_proj.bias", c);
            Add(h + "ln_2.weight", c);
            Add(h + "ln_2.bias", c);
            Add(h + "mlp.c_fc.weight", c, 4 * c);
            Add(h + "mlp.c_fc.bias", 4 * c);
            Add(h + "mlp.c_proj.weight", 4 * c, c);
            Add(h + "mlp.c_proj.bias", c);
        }

        Add("transformer.ln_f.weight", c);
        Add("transformer.ln_f.bias", c);
        return list;
    }

    private static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Every buffer one (B, T) needs, allocated once.</summary>
    private sealed class Activations
    {
        public Activations(Gpt2Config config, int b, int t)
        {
            B = b;
            T = t;
            long n = (long)b * t, c = config.Channels;
            Encoded = new(n * c);
            Blocks = Enumerable.Range(0, config.Layers).Select(_ => new BlockActivations(n, c, (long)b * config.Heads * t * t)).ToArray();
            LnF = new(n * c);
            LnFMean = new(n);
            LnFRstd = new(n);
            Logits = new(n * config.VocabSize);
            Losses = new(n);
            DResidual = new(n * c);
            DLnF = new(n * c);
            DLn = new(n * c);
            DAttY = new(n * c);
            DQkv = new(n * 3 * c);
            DFch = new(n * 4 * c);
            DFchGelu = new(n * 4 * c);
        }

        public int B { get; }

        public int T { get; }

        public PinnedBuffer<T> Encoded { get; }

        public BlockActivations[] Blocks { get; }

        public PinnedBuffer<T> LnF { get; }

        public PinnedBuffer<T> LnFMean { get; }

        public PinnedBuffer<T> LnFRstd { get; }

        public PinnedBuffer<T> Logits { get; }

        public PinnedBuffer<T> Losses { get; }

        public PinnedBuffer<T> DResidual { get; }

        public PinnedBuffer<T> DLnF { get; }

        public PinnedBuffer<T> DLn { get; }

        public PinnedBuffer<T> DAttY { get; }

        public PinnedBuffer<T> DQkv { get; }

        public PinnedBuffer<T> DFch { get; }

        public PinnedBuffer<T> DFchGelu { get; }

        public T* Wte(Gpt2Model<T> model) => model.P("transformer.wte.weight");
    }

    private sealed class BlockActivations(long n, long c, long attention)
    {
        public PinnedBuffer<T> Ln1 { get; } = new(n * c);

        public PinnedBuffer<T> Ln1Mean { get; } = new(n);

        public PinnedBuffer<T> Ln1Rstd { get; } = new(n);

        public PinnedBuffer<T> Qkv { get; } = new(n * 3 * c);

        public PinnedBuffer<T> AttY { get; } = new(n * c);

        public PinnedBuffer<T> Att { get; } = new(attention);

        public PinnedBuffer<T> AttProj { get; } = new(n * c);

        public PinnedBuffer<T> Residual2 { get; } = new(n * c);

        public PinnedBuffer<T> Ln2 { get; } = new(n * c);

        public PinnedBuffer<T> Ln2Mean { get; } = new(n);

        public PinnedBuffer<T> Ln2Rstd { get; } = new(n);

        public PinnedBuffer<T> Fch { get; } = new(n * 4 * c);

        public PinnedBuffer<T> FchGelu { get; } = new(n * 4 * c);

        public PinnedBuffer<T> FcProj { get; } = new(n * c);

        public PinnedBuffer<T> Residual3 { get; } = new(n * c);
    }
}
