using System.Numerics;
using System.Numerics.Tensors;
using LlmAdapt.Formats;
using LlmAdapt.Training.Kernels;
using LlmAdapt.Training.Lora;

namespace LlmAdapt.Training.Models;

/// <summary>
/// What every decoder family shares: one flat parameter buffer laid out tensor by tensor under Hugging Face's names,
/// its gradients, the projections LoRA can adapt (with their forward, backward and merge), input checks, and the
/// trainable view the optimiser sees. A family adds its layout, its forward and backward, and its config mapping.
/// </summary>
internal abstract unsafe class DecoderModel<T> : IDecoderModel<T>, IDisposable
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Dictionary<string, ParameterTensor> _byName;
    private Dictionary<(int Layer, string Name), int>? _layerOffsets;
    private (string Weight, string Bias)[]? _siteTensors;
    private Workers? _workers;
    private IReadOnlyList<TrainableSlice<T>>? _trainable;
    private readonly Dictionary<(nint Weight, bool Transposed), PackedMatrix<T>> _frozenPacks = [];
    private (int B, int T) _loraShape;
    private T* _lastLosses;
    private int _lastCount;
    private bool _summedBackward;

    protected DecoderModel(List<ParameterTensor> tensors)
    {
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Parameters = new PinnedBuffer<T>(tensors[^1].Offset + tensors[^1].Length);
    }

    /// <summary>Gets the parameter tensors in buffer order.</summary>
    public IReadOnlyList<ParameterTensor> Tensors { get; }

    /// <summary>
    /// Gets the parameter values. Write base weights through <see cref="Values"/>, <see cref="InitializeRandom"/> or
    /// <see cref="MergeLora"/> while adapters are attached: those drop the packed copies of the frozen weights
    /// (<see cref="FrozenPack"/>), which a write straight into this buffer would leave stale.
    /// </summary>
    public PinnedBuffer<T> Parameters { get; }

    public PinnedBuffer<T>? Gradients { get; private set; }

    public LoraState<T>? Lora { get; private set; }

    public abstract int VocabSize { get; }

    public abstract int ContextLength { get; }

    /// <summary>Gets the number of blocks.</summary>
    public abstract int LayerCount { get; }

    /// <summary>Gets the linear projections of a block that LoRA can adapt: name (under the block), in and out features.</summary>
    public abstract IReadOnlyList<(string Name, int In, int Out)> Sites { get; }

    /// <summary>Gets the modules adapted when <see cref="LoraOptions.TargetModules"/> is empty.</summary>
    public abstract IReadOnlyList<string> DefaultLoraTargets { get; }

    /// <summary>Gets whether projection weights are stored [in, out] (GPT-2's Conv1D, PEFT's fan_in_fan_out) rather than [out, in].</summary>
    public abstract bool FanInFanOut { get; }

    /// <summary>Gets the shape in the config's own words, for messages ("n_layer 2, n_embd 8").</summary>
    public abstract string ShapeText { get; }

    public bool Training { get; set; }

    /// <summary>Gets or sets the most threads this model's kernels use; 0 (the default) means every core.</summary>
    public int Threads { get; set; }

    /// <summary>Gets the threads this model's kernels share their work with, following <see cref="Threads"/> (this model's own).</summary>
    public Workers Workers => Workers.Follow(ref _workers, Threads);

    /// <summary>Ends this model's helper threads (a later forward starts them again) and drops the packed frozen weights.</summary>
    public void Dispose()
    {
        _workers?.Dispose();
        _workers = null;
        DropFrozenPacks();
    }

    /// <summary>Gets the bytes held by packed copies of frozen weights (<see cref="FrozenPack"/>).</summary>
    public long FrozenPackBytes { get; private set; }

    /// <summary>Gets or sets the most bytes the packed frozen weights may hold (default 2 GiB); weights first used past it are packed per product as before.</summary>
    public long FrozenPackLimitBytes { get; set; } = 2L << 30;

    /// <summary>
    /// Gets or sets whether attached adapters are switched off: forward then runs the bare base weights (DPO's reference
    /// model, without a second copy of the base). Backward must not follow such a forward.
    /// </summary>
    public bool AdaptersDisabled { get; set; }

    public int CountedTargets { get; private set; }

    public double TargetWeight { get; private set; }

    public abstract PinnedBuffer<T> Probabilities { get; }

    /// <summary>Gets the inputs, targets and weights of the last forward, for backward.</summary>
    protected int[]? LastInputs { get; private set; }

    protected int[]? LastTargets { get; private set; }

    protected float[]? LastWeights { get; private set; }

    public IReadOnlyList<TrainableSlice<T>> Trainable => _trainable ??= BuildTrainable();

    /// <summary>Gets one tensor's values to read or write (dropping the packed frozen weights, which a write would make stale).</summary>
    public Span<T> Values(string name)
    {
        var tensor = _byName[name];
        DropFrozenPacks();
        return Parameters.Span.Slice(tensor.Offset, tensor.Length);
    }

    /// <summary>Returns the block prefix of layer <paramref name="layer"/> ("transformer.h.0." or "model.layers.0.").</summary>
    public abstract string LayerPrefix(int layer);

    /// <summary>Returns the Hugging Face config.json this model is saved with.</summary>
    public abstract HuggingFaceModelConfig ToHuggingFace();

    /// <summary>Returns another name the tensor may carry in checkpoints written by other tools, or null.</summary>
    public virtual string? AlternativeName(string name) => null;

    /// <summary>Sets every parameter to the family's random initialisation from <paramref name="seed"/>.</summary>
    public void InitializeRandom(int seed)
    {
        DropFrozenPacks();
        InitializeWeights(seed);
    }

    /// <summary>Creates an empty key/value cache for <see cref="DecodeStep"/>.</summary>
    public abstract DecoderKvCache<T> CreateCache();

    /// <summary>
    /// Runs one token at <paramref name="position"/> (0-based, below the context) through the model in evaluation mode,
    /// reading the keys and values of positions 0..position−1 from <paramref name="cache"/> and writing its own there;
    /// returns its logits (V). The same numbers as <see cref="Forward"/>'s logits at that position, up to float rounding.
    /// </summary>
    public abstract ReadOnlySpan<T> DecodeStep(int token, int position, DecoderKvCache<T> cache);

    public abstract double Forward(int[] inputs, int[]? targets, int b, int t, float[]? weights = null);

    public abstract void Backward(double lossScale = 1.0);

    /// <summary>
    /// Writes each sequence's summed log-probability of its counted targets (Σ log p(targetᵢ) over targets ≥ 0) from the
    /// last forward, which must have run without weights; <paramref name="sums"/> has one element per sequence.
    /// </summary>
    public void SumTargetLogProbs(Span<double> sums)
    {
        if (_lastLosses is null || LastWeights is not null || _lastCount % sums.Length != 0)
        {
            throw new InvalidOperationException("Run Forward with targets and without weights first.");
        }

        var t = _lastCount / sums.Length;
        for (var row = 0; row < sums.Length; row++)
        {
            var sum = 0.0;
            for (var i = 0; i < t; i++)
            {
                sum -= double.CreateChecked(_lastLosses[(row * t) + i]);
            }

            sums[row] = sum;
        }
    }

    /// <summary>
    /// Adds the gradients of the un-normalised sum Σᵢ wᵢ·lossᵢ over the last forward's targets, with weights chosen after
    /// that forward (DPO: each sequence's tokens weighted by its pair's coefficient), instead of the weighted mean.
    /// </summary>
    public void BackwardSummed(float[] weights, double lossScale = 1.0)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Length < _lastCount)
        {
            throw new ArgumentException($"Expected {_lastCount} weights; got {weights.Length}.", nameof(weights));
        }

        LastWeights = weights;
        _summedBackward = true;
        try
        {
            Backward(lossScale);
        }
        finally
        {
            _summedBackward = false;
        }
    }

    public void ZeroGrad()
    {
        Gradients?.Clear(Workers);
        Lora?.Gradients.Clear(Workers);
    }

    /// <summary>Attaches LoRA adapters to the projections <paramref name="options"/> targets; the base is then frozen.</summary>
    public LoraState<T> AttachLora(LoraOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.TargetModules.Count == 0)
        {
            options = new LoraOptions { Rank = options.Rank, Alpha = options.Alpha, Dropout = options.Dropout, TargetModules = [.. DefaultLoraTargets] };
        }

        var modules = new List<LoraModule<T>>();
        var offset = 0;
        var r = options.Rank;
        for (var l = 0; l < LayerCount; l++)
        {
            for (var s = 0; s < Sites.Count; s++)
            {
                var (name, inF, outF) = Sites[s];
                var full = LayerPrefix(l) + name;
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
            throw new ArgumentException($"No projection matches target modules [{string.Join(", ", options.TargetModules)}]; this model has {string.Join(", ", Sites.Select(s => s.Name))}.", nameof(options));
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
        _loraShape = default;
        DropFrozenPacks();
        return state;
    }

    /// <summary>Folds the adapters into the base weights (W += scale · B·A, transposed for [in, out] storage; see <see cref="LoraUpdate.Merge{TW, TA}"/>) and detaches them.</summary>
    public void MergeLora()
    {
        var lora = Lora ?? throw new InvalidOperationException("No LoRA adapters are attached.");
        var r = lora.Options.Rank;
        foreach (var m in lora.Modules)
        {
            var w = _byName[m.Name + ".weight"];
            LoraUpdate.Merge<T, T>(
                Parameters.Span.Slice(w.Offset, w.Length),
                lora.Parameters.Span.Slice(m.OffsetA, r * m.InFeatures),
                lora.Parameters.Span.Slice(m.OffsetB, m.OutFeatures * r),
                r,
                m.InFeatures,
                m.OutFeatures,
                lora.Options.Scaling,
                FanInFanOut);
        }

        Lora = null;
        _trainable = null;
        DropFrozenPacks();
    }

    // ------------------------------------------------------------------ shared pieces of forward and backward

    /// <summary>Checks the batch shape and token ids, and keeps what backward needs.</summary>
    protected void CheckInputs(int[] inputs, int[]? targets, float[]? weights, int b, int t)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var n = b * t;
        if (t > ContextLength || t <= 0 || b <= 0)
        {
            throw new ArgumentException($"Sequence of {t} tokens, context is {ContextLength} (batch {b}).");
        }

        if (inputs.Length < n || (targets is not null && targets.Length < n) || (weights is not null && weights.Length < n))
        {
            throw new ArgumentException($"Expected {n} inputs, targets and weights for batch {b} × {t}; got {inputs.Length}, {targets?.Length} and {weights?.Length}.");
        }

        var v = VocabSize;
        for (var i = 0; i < n; i++)
        {
            if ((uint)inputs[i] >= (uint)v || (targets is not null && targets[i] >= v))
            {
                throw new ArgumentOutOfRangeException(nameof(inputs), $"Token id {Math.Max(inputs[i], targets?[i] ?? 0)} at position {i} is outside the vocabulary of {v}.");
            }
        }

        EnsureLoraBuffers(b, t);
        LastInputs = inputs;
        LastTargets = targets;
        LastWeights = weights;
    }

    /// <summary>Cross-entropy over the logits (turned into probabilities in place); the weighted mean over targets ≥ 0.</summary>
    protected double Loss(T* logits, T* losses, int[]? targets, float[]? weights, int n)
    {
        var total = Layers.SoftmaxCrossEntropyForward(logits, losses, targets, weights, n, VocabSize, Workers);
        _lastLosses = losses;
        _lastCount = n;
        CountedTargets = 0;
        TargetWeight = 0;
        for (var i = 0; targets is not null && i < n; i++)
        {
            if (targets[i] >= 0)
            {
                CountedTargets++;
                TargetWeight += weights?[i] ?? 1.0;
            }
        }

        return TargetWeight <= 0 ? double.NaN : total / TargetWeight;
    }

    /// <summary>The scale of dlogits for a backward of lossScale × the mean loss.</summary>
    protected T LossScale(double lossScale) => _summedBackward ? T.CreateChecked(lossScale) : TargetWeight <= 0 ? T.Zero : T.CreateChecked(lossScale / TargetWeight);

    protected T* P(string name) => Parameters.Pointer + _byName[name].Offset;

    /// <summary>Writes the family's random initialisation (<see cref="InitializeRandom"/>).</summary>
    protected abstract void InitializeWeights(int seed);

    /// <summary>
    /// Gets op(W)[k, n] (W stored [n, k] when <paramref name="transposed"/>) packed once for the matrix multiply, when the
    /// base is frozen (adapters attached) and an m-row product by it would read a pack; otherwise null. A LoRA step
    /// multiplies every frozen projection and the head by the same values, forward and for the input gradient, so
    /// packing them once saves copying them into panels in every product (measured in docs/fine-tuning.md). A weight
    /// may be packed in both orientations, so the packs cost up to twice the memory of the weights they copy, within
    /// <see cref="FrozenPackLimitBytes"/>; they are dropped on any write through this class and when adapters are
    /// attached, merged or the model is disposed.
    /// </summary>
    protected PackedMatrix<T>? FrozenPack(T* weight, bool transposed, int m, int k, int n)
    {
        if (Lora is null || !MatMul.ReadsPackedB<T>(m, k, n, false, transposed))
        {
            return null;
        }

        if (!_frozenPacks.TryGetValue(((nint)weight, transposed), out var packed))
        {
            var bytes = MatMul.PackedLength<T>(k, n) * (long)sizeof(T);
            if (FrozenPackBytes + bytes > FrozenPackLimitBytes)
            {
                return null;
            }

            packed = MatMul.Pack(weight, transposed, k, n, Workers);
            _frozenPacks.Add(((nint)weight, transposed), packed);
            FrozenPackBytes += bytes;
        }

        return packed;
    }

    private void DropFrozenPacks()
    {
        _frozenPacks.Clear();
        FrozenPackBytes = 0;
    }

    /// <summary>Returns the gradient of a tensor, or null when the base is frozen (LoRA attached).</summary>
    protected T* G(string name) => Lora is not null ? null : GradientPointer + _byName[name].Offset;

    /// <summary>
    /// Returns a tensor of layer <paramref name="layer"/> by its name inside the layer ("ln_1.weight"), without building
    /// the full name, so a forward or backward pass allocates no strings.
    /// </summary>
    protected T* P(int layer, string name) => Parameters.Pointer + LayerOffset(layer, name);

    /// <summary>As <see cref="P(int, string)"/> for the gradient; null when the base is frozen (LoRA attached).</summary>
    protected T* G(int layer, string name) => Lora is not null ? null : GradientPointer + LayerOffset(layer, name);

    /// <summary>Returns projection <paramref name="site"/>'s tensor names inside a layer ("attn.c_attn.weight", "….bias").</summary>
    protected (string Weight, string Bias) SiteTensors(int site)
        => (_siteTensors ??= [.. Sites.Select(s => (s.Name + ".weight", s.Name + ".bias"))])[site];

    private T* GradientPointer => (Gradients ??= new PinnedBuffer<T>(Parameters.Length)).Pointer;

    private int LayerOffset(int layer, string name)
    {
        if (_layerOffsets is null)
        {
            var offsets = new Dictionary<(int, string), int>();
            for (var l = 0; l < LayerCount; l++)
            {
                var prefix = LayerPrefix(l);
                foreach (var tensor in Tensors.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    offsets[(l, tensor.Name[prefix.Length..])] = tensor.Offset;
                }
            }

            _layerOffsets = offsets;
        }

        return _layerOffsets[(layer, name)];
    }

    /// <summary>Adds the adapter's term to a projection's output: out += scale · dropout(x) · Aᵀ · Bᵀ.</summary>
    protected void LoraForward(int layer, int site, T* output, T* input, int n)
    {
        if (AdaptersDisabled || Lora?.Find(layer, site) is not { } m)
        {
            return;
        }

        var lora = Lora;
        var (_, inF, outF) = Sites[site];
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
        MatMul.Gemm(x, false, lora.Parameters.Pointer + m.OffsetA, true, hidden.Pointer, n, inF, r, accumulate: false, Workers);
        var hs = hidden.Span[..(n * r)];
        TensorPrimitives.Multiply(hs, lora.Scaling, hs);
        MatMul.Gemm(hidden.Pointer, false, lora.Parameters.Pointer + m.OffsetB, true, output, n, r, outF, accumulate: true, Workers);
    }

    /// <summary>Backward of the adapter's term: dB, dA, and its share of dx.</summary>
    protected void LoraBackward(int layer, int site, T* dinput, T* doutput, T* input, int n)
    {
        if (AdaptersDisabled && Lora is not null)
        {
            throw new InvalidOperationException("Backward after a forward with the adapters switched off.");
        }

        if (Lora?.Find(layer, site) is not { } m)
        {
            return;
        }

        var lora = Lora;
        var (_, inF, outF) = Sites[site];
        var r = lora.Options.Rank;
        var pa = lora.Parameters.Pointer + m.OffsetA;
        var pb = lora.Parameters.Pointer + m.OffsetB;
        var ga = lora.Gradients.Pointer + m.OffsetA;
        var gb = lora.Gradients.Pointer + m.OffsetB;
        var x = m.DroppedInput is not null ? m.DroppedInput.Pointer : input;

        // dB (out, r) += doutᵀ · h;  dh (N, r) = scale · dout · B;  dA (r, in) += dhᵀ · x;  dx += (dh · A) ⊙ mask.
        MatMul.Gemm(doutput, true, m.Hidden!.Pointer, false, gb, outF, n, r, accumulate: true, Workers);
        var dh = m.HiddenGradient!;
        MatMul.Gemm(doutput, pb, dh.Pointer, n, outF, r, accumulate: false, Workers);
        TensorPrimitives.Multiply(dh.Span[..(n * r)], lora.Scaling, dh.Span[..(n * r)]);
        MatMul.Gemm(dh.Pointer, true, x, false, ga, r, n, inF, accumulate: true, Workers);
        if (m.Mask is null)
        {
            MatMul.Gemm(dh.Pointer, pa, dinput, n, r, inF, accumulate: true, Workers);
        }
        else
        {
            var dx = m.InputGradient!;
            MatMul.Gemm(dh.Pointer, pa, dx.Pointer, n, r, inF, accumulate: false, Workers);
            var mask = m.Mask.Span;
            for (var i = 0; i < n * inF; i++)
            {
                dinput[i] += dx.Span[i] * mask[i];
            }
        }
    }

    /// <summary>Builds a layout: each tensor follows the last in one flat buffer.</summary>
    protected static List<ParameterTensor> Layout(Action<Action<string, long[]>> build)
    {
        var list = new List<ParameterTensor>();
        var offset = 0;
        build((name, shape) =>
        {
            var tensor = new ParameterTensor(name, shape, offset);
            list.Add(tensor);
            offset = checked(offset + tensor.Length);
        });
        return list;
    }

    /// <summary>Fills a span with N(0, std²) draws (Box–Muller).</summary>
    protected static void FillGaussian(Span<T> span, Random random, double std)
    {
        for (var i = 0; i < span.Length; i++)
        {
            var u1 = 1.0 - random.NextDouble();
            span[i] = T.CreateChecked(std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * random.NextDouble()));
        }
    }

    /// <summary>Checks a decode step's token and position and sizes the adapters' scratch for one row.</summary>
    protected void CheckDecodeStep(int token, int position, DecoderKvCache<T> cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)token, (uint)VocabSize, nameof(token));
        if ((uint)position >= (uint)Math.Min(ContextLength, cache.ContextLength))
        {
            throw new ArgumentOutOfRangeException(nameof(position), $"Position {position} is outside the context of {ContextLength}.");
        }

        EnsureLoraBuffers(1, 1);
    }

    /// <summary>
    /// One query row against the cached keys and values of positions 0..position: per head, softmax(q·kᵀ/√hd)·v, query
    /// head h reading key/value head h / (heads / kvHeads). q is (heads·hd); the output (heads·hd).
    /// </summary>
    protected static void CachedAttention(T* output, T* q, DecoderKvCache<T> cache, int layer, int position, int heads, int kvHeads, int hd)
    {
        var scale = T.One / T.Sqrt(T.CreateChecked(hd));
        var group = heads / kvHeads;
        var width = cache.Width;
        T* keys = cache.Keys[layer].Pointer, values = cache.Values[layer].Pointer, scores = cache.Scores.Pointer;
        for (var h = 0; h < heads; h++)
        {
            var kvh = h / group;
            var qh = q + ((long)h * hd);
            var max = T.NegativeInfinity;
            for (var j = 0; j <= position; j++)
            {
                scores[j] = Simd.Dot(qh, keys + ((long)j * width) + (kvh * hd), hd) * scale;
                max = T.Max(max, scores[j]);
            }

            var sum = T.Zero;
            for (var j = 0; j <= position; j++)
            {
                scores[j] = T.Exp(scores[j] - max);
                sum += scores[j];
            }

            var o = output + ((long)h * hd);
            new Span<T>(o, hd).Clear();
            for (var j = 0; j <= position; j++)
            {
                Simd.Axpy(scores[j] / sum, values + ((long)j * width) + (kvh * hd), o, hd);
            }
        }
    }

    private void EnsureLoraBuffers(int b, int t)
    {
        if (Lora is not { } lora || _loraShape == (b, t))
        {
            return;
        }

        foreach (var m in lora.Modules)
        {
            m.Hidden = new PinnedBuffer<T>((long)b * t * lora.Options.Rank);
            m.HiddenGradient = new PinnedBuffer<T>((long)b * t * lora.Options.Rank);
            if (lora.Options.Dropout > 0)
            {
                m.DroppedInput = new PinnedBuffer<T>((long)b * t * m.InFeatures);
                m.Mask = new PinnedBuffer<T>((long)b * t * m.InFeatures);
                m.InputGradient = new PinnedBuffer<T>((long)b * t * m.InFeatures);
            }
        }

        _loraShape = (b, t);
    }

    private IReadOnlyList<TrainableSlice<T>> BuildTrainable()
    {
        if (Lora is { } lora)
        {
            return lora.Modules.SelectMany(m => new[]
            {
                Slice(m.Name + ".lora_A.weight", lora.Parameters, lora.Gradients, m.OffsetA, lora.Options.Rank * m.InFeatures, true),
                Slice(m.Name + ".lora_B.weight", lora.Parameters, lora.Gradients, m.OffsetB, m.OutFeatures * lora.Options.Rank, true),
            }).ToList();
        }

        var gradients = Gradients ??= new PinnedBuffer<T>(Parameters.Length);
        return Tensors.Select(x => Slice(x.Name, Parameters, gradients, x.Offset, x.Length, x.Shape.Length >= 2)).ToList();

        static TrainableSlice<T> Slice(string name, PinnedBuffer<T> values, PinnedBuffer<T> gradients, int offset, int length, bool decay)
            => new(name, values.Memory.Slice(offset, length), gradients.Memory.Slice(offset, length), decay);
    }
}
