using System.Numerics;
using LlmAdapt.Training.Kernels;

namespace LlmAdapt.Training.Models.Llama;

/// <summary>
/// A Llama-family decoder with hand-written forward and backward passes, generic over float and double. Parameters
/// use Hugging Face's <c>LlamaForCausalLM</c> names and shapes (projections are nn.Linear, [out, in]).
/// </summary>
internal sealed unsafe class LlamaModel<T> : IDecoderModel<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Dictionary<string, ParameterTensor> _byName;
    private readonly T _eps;
    private Activations? _acts;
    private int[]? _inputs;
    private int[]? _targets;
    private IReadOnlyList<TrainableSlice<T>>? _trainable;

    public LlamaModel(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Tensors = BuildLayout(config);
        _byName = Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Parameters = new PinnedBuffer<T>(Tensors[^1].Offset + Tensors[^1].Length);
        _eps = T.CreateChecked(config.RmsNormEpsilon);
    }

    public LlamaConfig Config { get; }

    public IReadOnlyList<ParameterTensor> Tensors { get; }

    public PinnedBuffer<T> Parameters { get; }

    public PinnedBuffer<T>? Gradients { get; private set; }

    public int VocabSize => Config.VocabSize;

    public int ContextLength => Config.ContextLength;

    public bool Training { get; set; }

    public int CountedTargets { get; private set; }

    public PinnedBuffer<T> Probabilities => _acts?.Logits ?? throw new InvalidOperationException("Run Forward first.");

    public IReadOnlyList<TrainableSlice<T>> Trainable => _trainable ??= BuildTrainable();

    public Span<T> Values(string name) => Parameters.Span.Slice(_byName[name].Offset, _byName[name].Length);

    private string Head => Config.TieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";

    public void InitializeRandom(int seed)
    {
        var random = new Random(seed);
        foreach (var tensor in Tensors)
        {
            var span = Parameters.Span.Slice(tensor.Offset, tensor.Length);
            if (tensor.Shape.Length == 1)
            {
                span.Fill(T.One);
                continue;
            }

            for (var i = 0; i < span.Length; i++)
            {
                var u1 = 1.0 - random.NextDouble();
                span[i] = T.CreateChecked(0.02 * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * random.NextDouble()));
            }
        }
    }

    public double Forward(int[] inputs, int[]? targets, int b, int t)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int c = Config.Channels, v = Config.VocabSize, n = b * t, hd = Config.HeadSize, nh = Config.Heads, nkv = Config.KeyValueHeads, im = Config.IntermediateSize;
        if (t > Config.ContextLength || t <= 0 || b <= 0)
        {
            throw new ArgumentException($"Sequence of {t} tokens, context is {Config.ContextLength} (batch {b}).");
        }

        for (var i = 0; i < n; i++)
        {
            if ((uint)inputs[i] >= (uint)v || (targets is not null && targets[i] >= v))
            {
                throw new ArgumentOutOfRangeException(nameof(inputs), $"Token id at position {i} is outside the vocabulary of {v}.");
            }
        }

        var a = _acts is { } existing && existing.B == b && existing.T == t ? existing : _acts = new Activations(Config, b, t);
        _inputs = inputs;
        _targets = targets;
        var embed = P("model.embed_tokens.weight");
        for (var i = 0; i < n; i++)
        {
            new Span<T>(embed + ((long)inputs[i] * c), c).CopyTo(a.Embedded.Span.Slice(i * c, c));
        }

        var residual = a.Embedded.Pointer;
        for (var l = 0; l < Config.Layers; l++)
        {
            var p = $"model.layers.{l}.";
            var la = a.Blocks[l];
            LlamaLayers.RmsNormForward(la.Norm1.Pointer, la.Rstd1.Pointer, residual, P(p + "input_layernorm.weight"), n, c, _eps);
            Linear(la.Q.Pointer, la.Norm1.Pointer, P(p + "self_attn.q_proj.weight"), n, c, nh * hd);
            Linear(la.K.Pointer, la.Norm1.Pointer, P(p + "self_attn.k_proj.weight"), n, c, nkv * hd);
            Linear(la.V.Pointer, la.Norm1.Pointer, P(p + "self_attn.v_proj.weight"), n, c, nkv * hd);
            LlamaLayers.Rope(la.Q.Pointer, b, t, nh, hd, Config.RopeTheta, inverse: false);
            LlamaLayers.Rope(la.K.Pointer, b, t, nkv, hd, Config.RopeTheta, inverse: false);
            LlamaLayers.AttentionForward(la.AttY.Pointer, la.Att.Pointer, la.Q.Pointer, la.K.Pointer, la.V.Pointer, b, t, nh, nkv, hd);
            Linear(la.AttOut.Pointer, la.AttY.Pointer, P(p + "self_attn.o_proj.weight"), n, nh * hd, c);
            Layers.ResidualForward(la.Residual2.Pointer, residual, la.AttOut.Pointer, n * c);
            LlamaLayers.RmsNormForward(la.Norm2.Pointer, la.Rstd2.Pointer, la.Residual2.Pointer, P(p + "post_attention_layernorm.weight"), n, c, _eps);
            Linear(la.Gate.Pointer, la.Norm2.Pointer, P(p + "mlp.gate_proj.weight"), n, c, im);
            Linear(la.Up.Pointer, la.Norm2.Pointer, P(p + "mlp.up_proj.weight"), n, c, im);
            LlamaLayers.SwiGluForward(la.Hidden.Pointer, la.Gate.Pointer, la.Up.Pointer, n * im);
            Linear(la.Down.Pointer, la.Hidden.Pointer, P(p + "mlp.down_proj.weight"), n, im, c);
            Layers.ResidualForward(la.Residual3.Pointer, la.Residual2.Pointer, la.Down.Pointer, n * c);
            residual = la.Residual3.Pointer;
        }

        LlamaLayers.RmsNormForward(a.NormF.Pointer, a.RstdF.Pointer, residual, P("model.norm.weight"), n, c, _eps);
        Linear(a.Logits.Pointer, a.NormF.Pointer, P(Head), n, c, v);
        var total = Layers.SoftmaxCrossEntropyForward(a.Logits.Pointer, a.Losses.Pointer, targets, n, v);
        CountedTargets = targets?.Take(n).Count(x => x >= 0) ?? 0;
        return CountedTargets == 0 ? double.NaN : total / CountedTargets;
    }

    public void Backward(double lossScale = 1.0)
    {
        var a = _acts ?? throw new InvalidOperationException("Run Forward with targets before Backward.");
        var targets = _targets ?? throw new InvalidOperationException("Backward needs the targets of the last Forward.");
        int b = a.B, t = a.T, c = Config.Channels, v = Config.VocabSize, n = b * t, hd = Config.HeadSize, nh = Config.Heads, nkv = Config.KeyValueHeads, im = Config.IntermediateSize;
        Gradients ??= new PinnedBuffer<T>(Parameters.Length);
        var scale = CountedTargets == 0 ? T.Zero : T.CreateChecked(lossScale / CountedTargets);
        Layers.SoftmaxCrossEntropyBackward(a.Logits.Pointer, targets, n, v, scale);
        a.DNorm.Clear();
        LinearBackward(a.DNorm.Pointer, G(Head), a.Logits.Pointer, a.NormF.Pointer, P(Head), n, c, v);
        var last = Config.Layers == 0 ? a.Embedded.Pointer : a.Blocks[^1].Residual3.Pointer;
        a.DResidual.Clear();
        var dres = a.DResidual.Pointer;
        LlamaLayers.RmsNormBackward(dres, G("model.norm.weight"), a.DNorm.Pointer, last, P("model.norm.weight"), a.RstdF.Pointer, n, c);
        for (var l = Config.Layers - 1; l >= 0; l--)
        {
            var p = $"model.layers.{l}.";
            var la = a.Blocks[l];
            var residualIn = l == 0 ? a.Embedded.Pointer : a.Blocks[l - 1].Residual3.Pointer;

            a.DHidden.Clear();
            LinearBackward(a.DHidden.Pointer, G(p + "mlp.down_proj.weight"), dres, la.Hidden.Pointer, P(p + "mlp.down_proj.weight"), n, im, c);
            a.DGate.Clear();
            a.DUp.Clear();
            LlamaLayers.SwiGluBackward(a.DGate.Pointer, a.DUp.Pointer, a.DHidden.Pointer, la.Gate.Pointer, la.Up.Pointer, n * im);
            a.DNorm.Clear();
            LinearBackward(a.DNorm.Pointer, G(p + "mlp.gate_proj.weight"), a.DGate.Pointer, la.Norm2.Pointer, P(p + "mlp.gate_proj.weight"), n, c, im);
            LinearBackward(a.DNorm.Pointer, G(p + "mlp.up_proj.weight"), a.DUp.Pointer, la.Norm2.Pointer, P(p + "mlp.up_proj.weight"), n, c, im);
            LlamaLayers.RmsNormBackward(dres, G(p + "post_attention_layernorm.weight"), a.DNorm.Pointer, la.Residual2.Pointer, P(p + "post_attention_layernorm.weight"), la.Rstd2.Pointer, n, c);

            a.DAttY.Clear();
            LinearBackward(a.DAttY.Pointer, G(p + "self_attn.o_proj.weight"), dres, la.AttY.Pointer, P(p + "self_attn.o_proj.weight"), n, nh * hd, c);
            a.DQ.Clear();
            a.DK.Clear();
            a.DV.Clear();
            LlamaLayers.AttentionBackward(a.DQ.Pointer, a.DK.Pointer, a.DV.Pointer, a.DAttY.Pointer, la.Q.Pointer, la.K.Pointer, la.V.Pointer, la.Att.Pointer, b, t, nh, nkv, hd);

            // The rotation is orthogonal: its backward rotates the gradients back.
            LlamaLayers.Rope(a.DQ.Pointer, b, t, nh, hd, Config.RopeTheta, inverse: true);
            LlamaLayers.Rope(a.DK.Pointer, b, t, nkv, hd, Config.RopeTheta, inverse: true);
            a.DNorm.Clear();
            LinearBackward(a.DNorm.Pointer, G(p + "self_attn.q_proj.weight"), a.DQ.Pointer, la.Norm1.Pointer, P(p + "self_attn.q_proj.weight"), n, c, nh * hd);
            LinearBackward(a.DNorm.Pointer, G(p + "self_attn.k_proj.weight"), a.DK.Pointer, la.Norm1.Pointer, P(p + "self_attn.k_proj.weight"), n, c, nkv * hd);
            LinearBackward(a.DNorm.Pointer, G(p + "self_attn.v_proj.weight"), a.DV.Pointer, la.Norm1.Pointer, P(p + "self_attn.v_proj.weight"), n, c, nkv * hd);
            LlamaLayers.RmsNormBackward(dres, G(p + "input_layernorm.weight"), a.DNorm.Pointer, residualIn, P(p + "input_layernorm.weight"), la.Rstd1.Pointer, n, c);
        }

        var dembed = G("model.embed_tokens.weight");
        for (var i = 0; i < n; i++)
        {
            Simd.Axpy(T.One, dres + ((long)i * c), dembed + ((long)_inputs![i] * c), c);
        }
    }

    public void ZeroGrad() => Gradients?.Clear();

    /// <summary>y (N, out) = x (N, in) · Wᵀ with W stored [out, in].</summary>
    private static void Linear(T* y, T* x, T* w, int n, int inF, int outF) => MatMul.Gemm(x, false, w, true, y, n, inF, outF, accumulate: false);

    /// <summary>dx += dy · W; dW += dyᵀ · x.</summary>
    private static void LinearBackward(T* dx, T* dw, T* dy, T* x, T* w, int n, int inF, int outF)
    {
        MatMul.Gemm(dy, w, dx, n, outF, inF, accumulate: true);
        MatMul.Gemm(dy, true, x, false, dw, outF, n, inF, accumulate: true);
    }

    private T* P(string name) => Parameters.Pointer + _byName[name].Offset;

    private T* G(string name) => Gradients!.Pointer + _byName[name].Offset;

    private IReadOnlyList<TrainableSlice<T>> BuildTrainable()
    {
        Gradients ??= new PinnedBuffer<T>(Parameters.Length);
        return Tensors.Select(x => new TrainableSlice<T>(x.Name, Parameters, Gradients, x.Offset, x.Length, x.Shape.Length >= 2)).ToList();
    }

    private static List<ParameterTensor> BuildLayout(LlamaConfig config)
    {
        long c = config.Channels, hd = config.HeadSize, im = config.IntermediateSize;
        var list = new List<ParameterTensor>();
        var offset = 0;
        void Add(string name, params long[] shape)
        {
            var tensor = new ParameterTensor(name, shape, offset);
            list.Add(tensor);
            offset = checked(offset + tensor.Length);
        }

        Add("model.embed_tokens.weight", config.VocabSize, c);
        for (var l = 0; l < config.Layers; l++)
        {
            var p = $"model.layers.{l}.";
            Add(p + "input_layernorm.weight", c);
            Add(p + "self_attn.q_proj.weight", config.Heads * hd, c);
            Add(p + "self_attn.k_proj.weight", config.KeyValueHeads * hd, c);
            Add(p + "self_attn.v_proj.weight", config.KeyValueHeads * hd, c);
            Add(p + "self_attn.o_proj.weight", c, config.Heads * hd);
            Add(p + "post_attention_layernorm.weight", c);
            Add(p + "mlp.gate_proj.weight", im, c);
            Add(p + "mlp.up_proj.weight", im, c);
            Add(p + "mlp.down_proj.weight", c, im);
        }

        Add("model.norm.weight", c);
        if (!config.TieWordEmbeddings)
        {
            Add("lm_head.weight", config.VocabSize, c);
        }

        return list;
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
