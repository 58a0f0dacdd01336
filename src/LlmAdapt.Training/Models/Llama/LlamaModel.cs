using System.Numerics;
using LlmAdapt.Formats;
using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Models.Llama;

/// <summary>
/// A Llama-family decoder with hand-written forward and backward passes, generic over float and double. Parameters
/// use Hugging Face's <c>LlamaForCausalLM</c> names and shapes (projections are nn.Linear, [out, in]); LoRA can adapt
/// q/k/v/o and gate/up/down.
/// </summary>
internal sealed unsafe class LlamaModel<T> : DecoderModel<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const int SiteQ = 0;
    private const int SiteK = 1;
    private const int SiteV = 2;
    private const int SiteO = 3;
    private const int SiteGate = 4;
    private const int SiteUp = 5;
    private const int SiteDown = 6;

    private readonly T _eps;
    private Activations? _acts;
    private StepBuffers? _step;
    private PinnedBuffer<T>? _rope;

    public LlamaModel(LlamaConfig config)
        : base(BuildLayout(Validated(config)))
    {
        Config = config;
        int c = config.Channels, q = config.Heads * config.HeadSize, kv = config.KeyValueHeads * config.HeadSize, im = config.IntermediateSize;
        Sites = [("self_attn.q_proj", c, q), ("self_attn.k_proj", c, kv), ("self_attn.v_proj", c, kv), ("self_attn.o_proj", q, c), ("mlp.gate_proj", c, im), ("mlp.up_proj", c, im), ("mlp.down_proj", im, c)];
        _eps = T.CreateChecked(config.RmsNormEpsilon);
    }

    public LlamaConfig Config { get; }

    public override int VocabSize => Config.VocabSize;

    public override int ContextLength => Config.ContextLength;

    public override int LayerCount => Config.Layers;

    public override IReadOnlyList<(string Name, int In, int Out)> Sites { get; }

    public override IReadOnlyList<string> DefaultLoraTargets => ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    public override bool FanInFanOut => false;

    public override string ShapeText => $"num_hidden_layers {Config.Layers}, hidden_size {Config.Channels}, num_attention_heads {Config.Heads}, num_key_value_heads {Config.KeyValueHeads}, intermediate_size {Config.IntermediateSize}";

    public override PinnedBuffer<T> Probabilities => _acts?.Logits ?? throw new InvalidOperationException("Run Forward first.");

    private string Head => Config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";

    public override string LayerPrefix(int layer) => $"model.layers.{layer}.";

    public override HuggingFaceModelConfig ToHuggingFace() => LlamaCheckpoint.ToHuggingFace(Config);

    /// <summary>N(0, 0.02) matrices and unit norms, as Hugging Face's initializer_range default.</summary>
    protected override void InitializeWeights(int seed)
    {
        var random = new Random(seed);
        foreach (var tensor in Tensors)
        {
            var span = Parameters.Span.Slice(tensor.Offset, tensor.Length);
            if (tensor.Shape.Length == 1)
            {
                span.Fill(T.One);
            }
            else
            {
                FillGaussian(span, random, 0.02);
            }
        }
    }

    public override double Forward(int[] inputs, int[]? targets, int b, int t, float[]? weights = null)
    {
        CheckInputs(inputs, targets, weights, b, t);
        int c = Config.Channels, v = Config.VocabSize, n = b * t, hd = Config.HeadSize, nh = Config.Heads, nkv = Config.KeyValueHeads, im = Config.IntermediateSize;
        var a = _acts is { } existing && existing.B == b && existing.T == t ? existing : _acts = new Activations(Config, b, t);
        var embed = P("model.embed_tokens.weight");
        for (var i = 0; i < n; i++)
        {
            new Span<T>(embed + ((long)inputs[i] * c), c).CopyTo(a.Embedded.Span.Slice(i * c, c));
        }

        var residual = a.Embedded.Pointer;
        for (var l = 0; l < Config.Layers; l++)
        {
            var la = a.Blocks[l];
            LlamaLayers.RmsNormForward(la.Norm1.Pointer, la.Rstd1.Pointer, residual, P(l, "input_layernorm.weight"), n, c, _eps, Workers);
            Linear(l, SiteQ, la.Q.Pointer, la.Norm1.Pointer, n);
            Linear(l, SiteK, la.K.Pointer, la.Norm1.Pointer, n);
            Linear(l, SiteV, la.V.Pointer, la.Norm1.Pointer, n);
            LlamaLayers.Rope(la.Q.Pointer, b, t, nh, hd, Rotations, Config.ContextLength, inverse: false);
            LlamaLayers.Rope(la.K.Pointer, b, t, nkv, hd, Rotations, Config.ContextLength, inverse: false);
            LlamaLayers.AttentionForward(la.AttY.Pointer, la.Att.Pointer, la.Q.Pointer, la.K.Pointer, la.V.Pointer, b, t, nh, nkv, hd, Workers);
            Linear(l, SiteO, la.AttOut.Pointer, la.AttY.Pointer, n);
            Layers.ResidualForward(la.Residual2.Pointer, residual, la.AttOut.Pointer, n * c, Workers);
            LlamaLayers.RmsNormForward(la.Norm2.Pointer, la.Rstd2.Pointer, la.Residual2.Pointer, P(l, "post_attention_layernorm.weight"), n, c, _eps, Workers);
            Linear(l, SiteGate, la.Gate.Pointer, la.Norm2.Pointer, n);
            Linear(l, SiteUp, la.Up.Pointer, la.Norm2.Pointer, n);
            LlamaLayers.SwiGluForward(la.Hidden.Pointer, la.Gate.Pointer, la.Up.Pointer, n * im, Workers);
            Linear(l, SiteDown, la.Down.Pointer, la.Hidden.Pointer, n);
            Layers.ResidualForward(la.Residual3.Pointer, la.Residual2.Pointer, la.Down.Pointer, n * c, Workers);
            residual = la.Residual3.Pointer;
        }

        LlamaLayers.RmsNormForward(a.NormF.Pointer, a.RstdF.Pointer, residual, P("model.norm.weight"), n, c, _eps, Workers);
        MatMul.Gemm(a.NormF.Pointer, false, P(Head), true, a.Logits.Pointer, n, c, v, accumulate: false, Workers, FrozenPack(P(Head), true, n, c, v));
        return Loss(a.Logits.Pointer, a.Losses.Pointer, targets, weights, n);
    }

    // ------------------------------------------------------------------ one token with a key/value cache (sampling)

    public override DecoderKvCache<T> CreateCache() => new(Config.Layers, Config.ContextLength, Config.KeyValueHeads * Config.HeadSize);

    public override ReadOnlySpan<T> DecodeStep(int token, int position, DecoderKvCache<T> cache)
    {
        CheckDecodeStep(token, position, cache);
        int c = Config.Channels, v = Config.VocabSize, hd = Config.HeadSize, nh = Config.Heads, nkv = Config.KeyValueHeads, im = Config.IntermediateSize, kv = nkv * hd;
        var s = _step ??= new StepBuffers(c, nh * hd, kv, im, v);
        var x = s.X.Pointer;
        new Span<T>(P("model.embed_tokens.weight") + ((long)token * c), c).CopyTo(s.X.Span);
        for (var l = 0; l < Config.Layers; l++)
        {
            LlamaLayers.RmsNormForward(s.Norm.Pointer, s.Rstd.Pointer, x, P(l, "input_layernorm.weight"), 1, c, _eps);
            Linear(l, SiteQ, s.Q.Pointer, s.Norm.Pointer, 1);
            Linear(l, SiteK, s.K.Pointer, s.Norm.Pointer, 1);
            Linear(l, SiteV, s.V.Pointer, s.Norm.Pointer, 1);
            LlamaLayers.Rope(s.Q.Pointer, 1, 1, nh, hd, Rotations, Config.ContextLength, inverse: false, position);
            LlamaLayers.Rope(s.K.Pointer, 1, 1, nkv, hd, Rotations, Config.ContextLength, inverse: false, position);
            s.K.Span.CopyTo(cache.Keys[l].Span.Slice(position * kv, kv));
            s.V.Span.CopyTo(cache.Values[l].Span.Slice(position * kv, kv));
            CachedAttention(s.AttY.Pointer, s.Q.Pointer, cache, l, position, nh, nkv, hd);
            Linear(l, SiteO, s.Out.Pointer, s.AttY.Pointer, 1);
            Layers.ResidualForward(x, x, s.Out.Pointer, c);
            LlamaLayers.RmsNormForward(s.Norm.Pointer, s.Rstd.Pointer, x, P(l, "post_attention_layernorm.weight"), 1, c, _eps);
            Linear(l, SiteGate, s.Gate.Pointer, s.Norm.Pointer, 1);
            Linear(l, SiteUp, s.Up.Pointer, s.Norm.Pointer, 1);
            LlamaLayers.SwiGluForward(s.Hidden.Pointer, s.Gate.Pointer, s.Up.Pointer, im, Workers);
            Linear(l, SiteDown, s.Out.Pointer, s.Hidden.Pointer, 1);
            Layers.ResidualForward(x, x, s.Out.Pointer, c);
        }

        LlamaLayers.RmsNormForward(s.Norm.Pointer, s.Rstd.Pointer, x, P("model.norm.weight"), 1, c, _eps);
        MatMul.Gemm(s.Norm.Pointer, false, P(Head), true, s.Logits.Pointer, 1, c, v, accumulate: false, Workers);
        return s.Logits.Span;
    }

    public override void Backward(double lossScale = 1.0)
    {
        var a = _acts ?? throw new InvalidOperationException("Run Forward with targets before Backward.");
        var targets = LastTargets ?? throw new InvalidOperationException("Backward needs the targets of the last Forward.");
        int b = a.B, t = a.T, c = Config.Channels, v = Config.VocabSize, n = b * t, hd = Config.HeadSize, nh = Config.Heads, nkv = Config.KeyValueHeads, im = Config.IntermediateSize;
        var scale = LossScale(lossScale);
        Layers.CrossEntropyHeadBackward(a.DNorm.Pointer, G(Head), a.Logits.Pointer, a.NormF.Pointer, P(Head), targets, LastWeights, scale, n, c, v, Workers, FrozenPack(P(Head), false, n, v, c));
        var last = Config.Layers == 0 ? a.Embedded.Pointer : a.Blocks[^1].Residual3.Pointer;
        a.DResidual.Clear(Workers);
        var dres = a.DResidual.Pointer;
        LlamaLayers.RmsNormBackward(dres, G("model.norm.weight"), a.DNorm.Pointer, last, P("model.norm.weight"), a.RstdF.Pointer, n, c, Workers);
        for (var l = Config.Layers - 1; l >= 0; l--)
        {
            var la = a.Blocks[l];
            var residualIn = l == 0 ? a.Embedded.Pointer : a.Blocks[l - 1].Residual3.Pointer;

            a.DHidden.Clear();
            LinearBackward(l, SiteDown, a.DHidden.Pointer, dres, la.Hidden.Pointer, n);
            a.DGate.Clear();
            a.DUp.Clear();
            LlamaLayers.SwiGluBackward(a.DGate.Pointer, a.DUp.Pointer, a.DHidden.Pointer, la.Gate.Pointer, la.Up.Pointer, n * im, Workers);
            a.DNorm.Clear();
            LinearBackward(l, SiteGate, a.DNorm.Pointer, a.DGate.Pointer, la.Norm2.Pointer, n);
            LinearBackward(l, SiteUp, a.DNorm.Pointer, a.DUp.Pointer, la.Norm2.Pointer, n);
            LlamaLayers.RmsNormBackward(dres, G(l, "post_attention_layernorm.weight"), a.DNorm.Pointer, la.Residual2.Pointer, P(l, "post_attention_layernorm.weight"), la.Rstd2.Pointer, n, c, Workers);

            a.DAttY.Clear();
            LinearBackward(l, SiteO, a.DAttY.Pointer, dres, la.AttY.Pointer, n);
            a.DQ.Clear();
            a.DK.Clear();
            a.DV.Clear();
            LlamaLayers.AttentionBackward(a.DQ.Pointer, a.DK.Pointer, a.DV.Pointer, a.DAttY.Pointer, la.Q.Pointer, la.K.Pointer, la.V.Pointer, la.Att.Pointer, b, t, nh, nkv, hd, Workers);

            // The rotation is orthogonal: its backward rotates the gradients back.
            LlamaLayers.Rope(a.DQ.Pointer, b, t, nh, hd, Rotations, Config.ContextLength, inverse: true);
            LlamaLayers.Rope(a.DK.Pointer, b, t, nkv, hd, Rotations, Config.ContextLength, inverse: true);
            a.DNorm.Clear();
            LinearBackward(l, SiteQ, a.DNorm.Pointer, a.DQ.Pointer, la.Norm1.Pointer, n);
            LinearBackward(l, SiteK, a.DNorm.Pointer, a.DK.Pointer, la.Norm1.Pointer, n);
            LinearBackward(l, SiteV, a.DNorm.Pointer, a.DV.Pointer, la.Norm1.Pointer, n);
            LlamaLayers.RmsNormBackward(dres, G(l, "input_layernorm.weight"), a.DNorm.Pointer, residualIn, P(l, "input_layernorm.weight"), la.Rstd1.Pointer, n, c, Workers);
        }

        var dembed = G("model.embed_tokens.weight");
        for (var i = 0; dembed != null && i < n; i++)
        {
            Simd.Axpy(T.One, dres + ((long)i * c), dembed + ((long)LastInputs![i] * c), c);
        }
    }

    /// <summary>y (N, out) = x (N, in) · Wᵀ with W stored [out, in], plus the adapter's term.</summary>
    private void Linear(int layer, int site, T* y, T* x, int n)
    {
        var (_, inF, outF) = Sites[site];
        var w = P(layer, SiteTensors(site).Weight);
        MatMul.Gemm(x, false, w, true, y, n, inF, outF, accumulate: false, Workers, FrozenPack(w, true, n, inF, outF));
        LoraForward(layer, site, y, x, n);
    }

    private void LinearBackward(int layer, int site, T* dx, T* dy, T* x, int n)
    {
        var (_, inF, outF) = Sites[site];
        var weight = SiteTensors(site).Weight;
        HeadBackward(dx, G(layer, weight), dy, x, P(layer, weight), n, inF, outF);
        LoraBackward(layer, site, dx, dy, x, n);
    }

    /// <summary>dx += dy · W; dW += dyᵀ · x (skipped when frozen).</summary>
    private void HeadBackward(T* dx, T* dw, T* dy, T* x, T* w, int n, int inF, int outF)
    {
        MatMul.Gemm(dy, w, dx, n, outF, inF, accumulate: true, Workers, FrozenPack(w, false, n, outF, inF));
        if (dw != null)
        {
            MatMul.Gemm(dy, true, x, false, dw, outF, n, inF, accumulate: true, Workers);
        }
    }

    /// <summary>Gets the rotary angles of every position of the context, built on first use.</summary>
    private PinnedBuffer<T> Rotations => _rope ??= LlamaLayers.RopeTable<T>(Config.ContextLength, Config.HeadSize, Config.RopeTheta);

    private static LlamaConfig Validated(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config;
    }

    private static List<ParameterTensor> BuildLayout(LlamaConfig config) => Layout(add =>
    {
        long c = config.Channels, hd = config.HeadSize, im = config.IntermediateSize;
        add("model.embed_tokens.weight", [config.VocabSize, c]);
        for (var l = 0; l < config.Layers; l++)
        {
            var p = $"model.layers.{l}.";
            add(p + "input_layernorm.weight", [c]);
            add(p + "self_attn.q_proj.weight", [config.Heads * hd, c]);
            add(p + "self_attn.k_proj.weight", [config.KeyValueHeads * hd, c]);
            add(p + "self_attn.v_proj.weight", [config.KeyValueHeads * hd, c]);
            add(p + "self_attn.o_proj.weight", [c, config.Heads * hd]);
            add(p + "post_attention_layernorm.weight", [c]);
            add(p + "mlp.gate_proj.weight", [im, c]);
            add(p + "mlp.up_proj.weight", [im, c]);
            add(p + "mlp.down_proj.weight", [c, im]);
        }

        add("model.norm.weight", [c]);
        if (!config.TieWordEmbeddings)
        {
            add("lm_head.weight", [config.VocabSize, c]);
        }
    });

    /// <summary>One position's buffers for <see cref="DecodeStep"/>, allocated once.</summary>
    private sealed class StepBuffers(int c, int q, int kv, int im, int v)
    {
        public PinnedBuffer<T> X { get; } = new(c);

        public PinnedBuffer<T> Norm { get; } = new(c);

        public PinnedBuffer<T> Rstd { get; } = new(1);

        public PinnedBuffer<T> Q { get; } = new(q);

        public PinnedBuffer<T> K { get; } = new(kv);

        public PinnedBuffer<T> V { get; } = new(kv);

        public PinnedBuffer<T> AttY { get; } = new(q);

        public PinnedBuffer<T> Out { get; } = new(c);

        public PinnedBuffer<T> Gate { get; } = new(im);

        public PinnedBuffer<T> Up { get; } = new(im);

        public PinnedBuffer<T> Hidden { get; } = new(im);

        public PinnedBuffer<T> Logits { get; } = new(v);
    }

    private sealed class Activations
    {
        public Activations(LlamaConfig config, int b, int t)
        {
            B = b;
            T = t;
            long n = (long)b * t, c = config.Channels, q = config.Heads * config.HeadSize, kv = config.KeyValueHeads * config.HeadSize, im = config.IntermediateSize;
            Embedded = new(n * c);
            Blocks = Enumerable.Range(0, config.Layers).Select(_ => new Block(n, c, q, kv, im, (long)b * config.Heads * t * t)).ToArray();
            NormF = new(n * c);
            RstdF = new(n);
            Logits = new(n * config.VocabSize);
            Losses = new(n);
            DResidual = new(n * c);
            DNorm = new(n * c);
            DAttY = new(n * q);
            DQ = new(n * q);
            DK = new(n * kv);
            DV = new(n * kv);
            DHidden = new(n * im);
            DGate = new(n * im);
            DUp = new(n * im);
        }

        public int B { get; }

        public int T { get; }

        public PinnedBuffer<T> Embedded { get; }

        public Block[] Blocks { get; }

        public PinnedBuffer<T> NormF { get; }

        public PinnedBuffer<T> RstdF { get; }

        public PinnedBuffer<T> Logits { get; }

        public PinnedBuffer<T> Losses { get; }

        public PinnedBuffer<T> DResidual { get; }

        public PinnedBuffer<T> DNorm { get; }

        public PinnedBuffer<T> DAttY { get; }

        public PinnedBuffer<T> DQ { get; }

        public PinnedBuffer<T> DK { get; }

        public PinnedBuffer<T> DV { get; }

        public PinnedBuffer<T> DHidden { get; }

        public PinnedBuffer<T> DGate { get; }

        public PinnedBuffer<T> DUp { get; }
    }

    private sealed class Block(long n, long c, long q, long kv, long im, long attention)
    {
        public PinnedBuffer<T> Norm1 { get; } = new(n * c);

        public PinnedBuffer<T> Rstd1 { get; } = new(n);

        public PinnedBuffer<T> Q { get; } = new(n * q);

        public PinnedBuffer<T> K { get; } = new(n * kv);

        public PinnedBuffer<T> V { get; } = new(n * kv);

        public PinnedBuffer<T> Att { get; } = new(attention);

        public PinnedBuffer<T> AttY { get; } = new(n * q);

        public PinnedBuffer<T> AttOut { get; } = new(n * c);

        public PinnedBuffer<T> Residual2 { get; } = new(n * c);

        public PinnedBuffer<T> Norm2 { get; } = new(n * c);

        public PinnedBuffer<T> Rstd2 { get; } = new(n);

        public PinnedBuffer<T> Gate { get; } = new(n * im);

        public PinnedBuffer<T> Up { get; } = new(n * im);

        public PinnedBuffer<T> Hidden { get; } = new(n * im);

        public PinnedBuffer<T> Down { get; } = new(n * c);

        public PinnedBuffer<T> Residual3 { get; } = new(n * c);
    }
}
