using System.Numerics;
using LlmAdapt.Formats;
using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Models.Gpt2;

/// <summary>
/// GPT-2 with hand-written forward and backward passes, generic over float (training) and double (gradient checks).
/// Parameters use Hugging Face's names and shapes (Conv1D weights are [in, out]), so checkpoints copy straight in and
/// out. Activations are planned once per (B, T).
/// </summary>
internal sealed unsafe class Gpt2Model<T> : DecoderModel<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const int SiteAttn = 0;
    private const int SiteAttnProj = 1;
    private const int SiteFc = 2;
    private const int SiteMlpProj = 3;

    private readonly T _eps;
    private Activations? _acts;
    private StepBuffers? _step;

    public Gpt2Model(Gpt2Config config)
        : base(BuildLayout(Validated(config)))
    {
        Config = config;
        Sites = SitesOf(config);
        _eps = T.CreateChecked(config.LayerNormEpsilon);
    }

    public Gpt2Config Config { get; }

    public override int VocabSize => Config.VocabSize;

    public override int ContextLength => Config.ContextLength;

    public override int LayerCount => Config.Layers;

    public override IReadOnlyList<(string Name, int In, int Out)> Sites { get; }

    public override IReadOnlyList<string> DefaultLoraTargets => ["c_attn", "c_proj", "c_fc"];

    public override bool FanInFanOut => true;

    public override string ShapeText => $"n_layer {Config.Layers}, n_embd {Config.Channels}, n_head {Config.Heads}";

    public override PinnedBuffer<T> Probabilities => _acts?.Logits ?? throw new InvalidOperationException("Run Forward first.");

    /// <summary>The linear projections of a block, by site: name, in and out features.</summary>
    private static (string Name, int In, int Out)[] SitesOf(Gpt2Config config)
    {
        var c = config.Channels;
        return [("attn.c_attn", c, 3 * c), ("attn.c_proj", c, c), ("mlp.c_fc", c, 4 * c), ("mlp.c_proj", 4 * c, c)];
    }

    public override string LayerPrefix(int layer) => $"transformer.h.{layer}.";

    public override HuggingFaceModelConfig ToHuggingFace() => Gpt2Checkpoint.ToHuggingFace(Config);

    /// <summary>Original GPT-2 checkpoints name tensors without the "transformer." prefix (<c>h.0.attn…</c>).</summary>
    public override string? AlternativeName(string name) => name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : null;

    /// <summary>Initialises like GPT-2: N(0, 0.02) weights, residual projections scaled by 1/√(2L), zero biases, unit norms.</summary>
    protected override void InitializeWeights(int seed)
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
                FillGaussian(span, random, tensor.Name.EndsWith("c_proj.weight", StringComparison.Ordinal) ? residualStd : 0.02);
            }
        }
    }

    // ------------------------------------------------------------------ forward

    public override double Forward(int[] inputs, int[]? targets, int b, int t, float[]? weights = null)
    {
        CheckInputs(inputs, targets, weights, b, t);
        int c = Config.Channels, v = Config.VocabSize, nh = Config.Heads, n = b * t;
        var a = EnsureActivations(b, t);
        Layers.EncoderForward(a.Encoded.Pointer, inputs, P("transformer.wte.weight"), P("transformer.wpe.weight"), b, t, c);
        var residual = a.Encoded.Pointer;
        for (var l = 0; l < Config.Layers; l++)
        {
            var la = a.Blocks[l];
            Layers.LayerNormForward(la.Ln1.Pointer, la.Ln1Mean.Pointer, la.Ln1Rstd.Pointer, residual, P(l, "ln_1.weight"), P(l, "ln_1.bias"), n, c, _eps, Workers);
            Linear(l, SiteAttn, la.Qkv.Pointer, la.Ln1.Pointer, n);
            Layers.AttentionForward(la.AttY.Pointer, la.Att.Pointer, la.Qkv.Pointer, b, t, c, nh, Workers);
            Linear(l, SiteAttnProj, la.AttProj.Pointer, la.AttY.Pointer, n);
            Layers.ResidualForward(la.Residual2.Pointer, residual, la.AttProj.Pointer, n * c, Workers);
            Layers.LayerNormForward(la.Ln2.Pointer, la.Ln2Mean.Pointer, la.Ln2Rstd.Pointer, la.Residual2.Pointer, P(l, "ln_2.weight"), P(l, "ln_2.bias"), n, c, _eps, Workers);
            Linear(l, SiteFc, la.Fch.Pointer, la.Ln2.Pointer, n);
            Layers.GeluForward(la.FchGelu.Pointer, la.Fch.Pointer, n * 4 * c, Workers);
            Linear(l, SiteMlpProj, la.FcProj.Pointer, la.FchGelu.Pointer, n);
            Layers.ResidualForward(la.Residual3.Pointer, la.Residual2.Pointer, la.FcProj.Pointer, n * c, Workers);
            residual = la.Residual3.Pointer;
        }

        Layers.LayerNormForward(a.LnF.Pointer, a.LnFMean.Pointer, a.LnFRstd.Pointer, residual, P("transformer.ln_f.weight"), P("transformer.ln_f.bias"), n, c, _eps, Workers);

        // Tied head: logits (N, V) = lnf (N, C) · wteᵀ.
        var wte = P("transformer.wte.weight");
        MatMul.Gemm(a.LnF.Pointer, false, wte, true, a.Logits.Pointer, n, c, v, accumulate: false, Workers, FrozenPack(wte, true, n, c, v));
        return Loss(a.Logits.Pointer, a.Losses.Pointer, targets, weights, n);
    }

    // ------------------------------------------------------------------ one token with a key/value cache (sampling)

    public override DecoderKvCache<T> CreateCache() => new(Config.Layers, Config.ContextLength, Config.Channels);

    public override ReadOnlySpan<T> DecodeStep(int token, int position, DecoderKvCache<T> cache)
    {
        CheckDecodeStep(token, position, cache);
        int c = Config.Channels, nh = Config.Heads, v = Config.VocabSize;
        var s = _step ??= new StepBuffers(c, v);
        var x = s.X.Pointer;
        T* wte = P("transformer.wte.weight"), wpe = P("transformer.wpe.weight");
        for (var i = 0; i < c; i++)
        {
            x[i] = wte[((long)token * c) + i] + wpe[((long)position * c) + i];
        }

        for (var l = 0; l < Config.Layers; l++)
        {
            Layers.LayerNormForward(s.Ln.Pointer, s.Mean.Pointer, s.Rstd.Pointer, x, P(l, "ln_1.weight"), P(l, "ln_1.bias"), 1, c, _eps);
            Linear(l, SiteAttn, s.Qkv.Pointer, s.Ln.Pointer, 1);
            s.Qkv.Span.Slice(c, c).CopyTo(cache.Keys[l].Span.Slice(position * c, c));
            s.Qkv.Span.Slice(2 * c, c).CopyTo(cache.Values[l].Span.Slice(position * c, c));
            CachedAttention(s.AttY.Pointer, s.Qkv.Pointer, cache, l, position, nh, nh, c / nh);
            Linear(l, SiteAttnProj, s.Proj.Pointer, s.AttY.Pointer, 1);
            Layers.ResidualForward(x, x, s.Proj.Pointer, c);
            Layers.LayerNormForward(s.Ln.Pointer, s.Mean.Pointer, s.Rstd.Pointer, x, P(l, "ln_2.weight"), P(l, "ln_2.bias"), 1, c, _eps);
            Linear(l, SiteFc, s.Fch.Pointer, s.Ln.Pointer, 1);
            Layers.GeluForward(s.FchGelu.Pointer, s.Fch.Pointer, 4 * c, Workers);
            Linear(l, SiteMlpProj, s.Proj.Pointer, s.FchGelu.Pointer, 1);
            Layers.ResidualForward(x, x, s.Proj.Pointer, c);
        }

        Layers.LayerNormForward(s.Ln.Pointer, s.Mean.Pointer, s.Rstd.Pointer, x, P("transformer.ln_f.weight"), P("transformer.ln_f.bias"), 1, c, _eps);
        MatMul.Gemm(s.Ln.Pointer, false, wte, true, s.Logits.Pointer, 1, c, v, accumulate: false, Workers);
        return s.Logits.Span;
    }

    // ------------------------------------------------------------------ backward

    public override void Backward(double lossScale = 1.0)
    {
        var a = _acts ?? throw new InvalidOperationException("Run Forward with targets before Backward.");
        var targets = LastTargets ?? throw new InvalidOperationException("Backward needs the targets of the last Forward.");
        var inputs = LastInputs!;
        int b = a.B, t = a.T, c = Config.Channels, v = Config.VocabSize, nh = Config.Heads, n = b * t;
        var frozen = Lora is not null;
        var scale = LossScale(lossScale);

        // Through the loss and the tied head in one step (dlogits is never formed); the embedding gradient is null when frozen.
        Layers.CrossEntropyHeadBackward(a.DLnF.Pointer, G("transformer.wte.weight"), a.Logits.Pointer, a.LnF.Pointer, a.Wte(this), targets, LastWeights, scale, n, c, v, Workers, FrozenPack(a.Wte(this), false, n, v, c));

        var last = Config.Layers == 0 ? a.Encoded.Pointer : a.Blocks[^1].Residual3.Pointer;
        a.DResidual.Clear(Workers);
        Layers.LayerNormBackward(a.DResidual.Pointer, G("transformer.ln_f.weight"), G("transformer.ln_f.bias"), a.DLnF.Pointer, last, P("transformer.ln_f.weight"), a.LnFMean.Pointer, a.LnFRstd.Pointer, n, c, Workers);
        var dres = a.DResidual.Pointer;
        for (var l = Config.Layers - 1; l >= 0; l--)
        {
            var la = a.Blocks[l];
            var residualIn = l == 0 ? a.Encoded.Pointer : a.Blocks[l - 1].Residual3.Pointer;

            // residual3 = residual2 + fcproj: both receive dres.
            a.DFchGelu.Clear();
            LinearBackward(l, SiteMlpProj, a.DFchGelu.Pointer, dres, la.FchGelu.Pointer, n);
            a.DFch.Clear();
            Layers.GeluBackward(a.DFch.Pointer, la.Fch.Pointer, a.DFchGelu.Pointer, n * 4 * c, Workers);
            a.DLn.Clear();
            LinearBackward(l, SiteFc, a.DLn.Pointer, a.DFch.Pointer, la.Ln2.Pointer, n);
            Layers.LayerNormBackward(dres, G(l, "ln_2.weight"), G(l, "ln_2.bias"), a.DLn.Pointer, la.Residual2.Pointer, P(l, "ln_2.weight"), la.Ln2Mean.Pointer, la.Ln2Rstd.Pointer, n, c, Workers);

            // residual2 = residualIn + attproj.
            a.DAttY.Clear();
            LinearBackward(l, SiteAttnProj, a.DAttY.Pointer, dres, la.AttY.Pointer, n);
            a.DQkv.Clear();
            Layers.AttentionBackward(a.DQkv.Pointer, a.DAttY.Pointer, la.Qkv.Pointer, la.Att.Pointer, b, t, c, nh, Workers);
            a.DLn.Clear();
            LinearBackward(l, SiteAttn, a.DLn.Pointer, a.DQkv.Pointer, la.Ln1.Pointer, n);
            Layers.LayerNormBackward(dres, G(l, "ln_1.weight"), G(l, "ln_1.bias"), a.DLn.Pointer, residualIn, P(l, "ln_1.weight"), la.Ln1Mean.Pointer, la.Ln1Rstd.Pointer, n, c, Workers);
        }

        if (!frozen)
        {
            Layers.EncoderBackward(G("transformer.wte.weight"), G("transformer.wpe.weight"), dres, inputs, b, t, c);
        }
    }

    // ------------------------------------------------------------------ projections with optional LoRA

    private void Linear(int layer, int site, T* output, T* input, int n)
    {
        var (_, inF, outF) = Sites[site];
        var (weight, bias) = SiteTensors(site);
        var w = P(layer, weight);
        Layers.LinearForward(output, input, w, P(layer, bias), n, inF, outF, Workers, FrozenPack(w, false, n, inF, outF));
        LoraForward(layer, site, output, input, n);
    }

    private void LinearBackward(int layer, int site, T* dinput, T* doutput, T* input, int n)
    {
        var (_, inF, outF) = Sites[site];
        var (weight, bias) = SiteTensors(site);
        var w = P(layer, weight);
        Layers.LinearBackward(dinput, G(layer, weight), G(layer, bias), doutput, input, w, n, inF, outF, Workers, FrozenPack(w, true, n, outF, inF));
        LoraBackward(layer, site, dinput, doutput, input, n);
    }

    private Activations EnsureActivations(int b, int t) => _acts is { } existing && existing.B == b && existing.T == t ? existing : _acts = new Activations(Config, b, t);

    private static Gpt2Config Validated(Gpt2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config;
    }

    private static List<ParameterTensor> BuildLayout(Gpt2Config config) => Layout(add =>
    {
        long c = config.Channels;
        add("transformer.wte.weight", [config.VocabSize, c]);
        add("transformer.wpe.weight", [config.ContextLength, c]);
        for (var l = 0; l < config.Layers; l++)
        {
            var h = $"transformer.h.{l}.";
            add(h + "ln_1.weight", [c]);
            add(h + "ln_1.bias", [c]);
            add(h + "attn.c_attn.weight", [c, 3 * c]);
            add(h + "attn.c_attn.bias", [3 * c]);
            add(h + "attn.c_proj.weight", [c, c]);
            add(h + "attn.c_proj.bias", [c]);
            add(h + "ln_2.weight", [c]);
            add(h + "ln_2.bias", [c]);
            add(h + "mlp.c_fc.weight", [c, 4 * c]);
            add(h + "mlp.c_fc.bias", [4 * c]);
            add(h + "mlp.c_proj.weight", [4 * c, c]);
            add(h + "mlp.c_proj.bias", [c]);
        }

        add("transformer.ln_f.weight", [c]);
        add("transformer.ln_f.bias", [c]);
    });

    /// <summary>One position's buffers for <see cref="DecodeStep"/>, allocated once.</summary>
    private sealed class StepBuffers(int c, int v)
    {
        public PinnedBuffer<T> X { get; } = new(c);

        public PinnedBuffer<T> Ln { get; } = new(c);

        public PinnedBuffer<T> Mean { get; } = new(1);

        public PinnedBuffer<T> Rstd { get; } = new(1);

        public PinnedBuffer<T> Qkv { get; } = new(3 * c);

        public PinnedBuffer<T> AttY { get; } = new(c);

        public PinnedBuffer<T> Proj { get; } = new(c);

        public PinnedBuffer<T> Fch { get; } = new(4 * c);

        public PinnedBuffer<T> FchGelu { get; } = new(4 * c);

        public PinnedBuffer<T> Logits { get; } = new(v);
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
