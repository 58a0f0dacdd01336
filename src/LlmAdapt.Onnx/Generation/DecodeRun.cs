using System.Runtime.InteropServices;
using LlmAdapt.Generation;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// One generate call: its own KV cache, inputs and logits, all sized once for the whole call. The cache is two
/// buffers per KV tensor used in turn: a step reads the past from one and ONNX Runtime writes the present straight
/// into the other (through IOBinding), so nothing is copied or allocated per token; only the small <c>OrtValue</c>
/// views whose sequence length grows are recreated.
/// </summary>
internal sealed unsafe class DecodeRun : IDisposable
{
    private readonly OnnxDecoderModel _model;
    private readonly DecoderGraph _graph;
    private readonly GenerationOptions _options;
    private readonly CancellationToken _cancellationToken;
    private readonly RunOptions _runOptions = new();

    // ONNX Runtime applies an active LoRA adapter in Run, not in RunWithBinding: with one, the prompt step runs unbound.
    private bool _adapterActive;
    private readonly OrtIoBinding _binding;
    private readonly CancellationTokenRegistration _registration;
    private readonly List<IDisposable> _owned = [];
    private readonly DecodeSequence[] _rows;
    private readonly int _batch;
    private readonly int _promptLength;
    private readonly int _capacity;
    private readonly int _limit;
    private readonly int _vocabulary;
    private readonly bool _padded;
    private readonly NativeBuffer[] _cacheA;
    private readonly NativeBuffer[] _cacheB;
    private readonly OrtValue?[] _pastViews;
    private readonly OrtValue?[] _presentViews;
    private readonly long[][] _kvShapes;
    private readonly NativeBuffer _mask;
    private readonly long[] _maskShape;
    private readonly NativeBuffer _stepIds;
    private readonly NativeBuffer _stepPositions;
    private readonly NativeBuffer _logits;
    private readonly NativeBuffer _useCache;
    private readonly float[] _rowLogits;
    private readonly string[] _stepInputNames;
    private readonly OrtValue?[] _stepInputs;
    private readonly string[] _stepOutputNames;
    private readonly OrtValue?[] _stepOutputs;
    private readonly int _maskSlot;
    private readonly int _cacheSlot;
    private OrtValue? _maskView;
    private bool _cacheInA = true;
    private int _pastLength;
    private int _steps;

    /// <summary>A static batch: every prompt decoded with <paramref name="options"/> and one sampler, until all finish.</summary>
    public DecodeRun(OnnxDecoderModel model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, bool streaming, CancellationToken cancellationToken)
        : this(model, Sequences(model, prompts, options, streaming), options, capacity: null, cancellationToken)
    {
    }

    /// <summary>
    /// A run over sequences built by the caller. With <paramref name="capacity"/> the cache holds that many positions
    /// (the continuous batch prefills a new sequence alone with its prompt's length and takes its cache over);
    /// otherwise the longest prompt plus <see cref="GenerationOptions.MaxNewTokens"/>, at most the context length.
    /// </summary>
    public DecodeRun(OnnxDecoderModel model, IReadOnlyList<DecodeSequence> sequences, GenerationOptions options, int? capacity, CancellationToken cancellationToken)
    {
        _model = model;
        _graph = model.Graph;
        _options = options;
        _cancellationToken = cancellationToken;
        _batch = sequences.Count;
        _promptLength = sequences.Max(p => p.Prompt.Count);
        _limit = (int)Math.Min((long)_promptLength + options.MaxNewTokens, model.ContextLength);
        _capacity = capacity ?? _limit;
        if (capacity is not null)
        {
            // A sequence that goes on elsewhere stops by the model's context, not by this run's cache.
            _limit = model.ContextLength;
        }

        _vocabulary = _graph.VocabularySize;
        _rows = [.. sequences];
        foreach (var row in _rows)
        {
            row.Padding = _promptLength - row.Prompt.Count;
        }

        _padded = _rows.Any(r => r.Padding > 0);
        _rowLogits = _rows.Any(r => r.NeedsScratch) ? new float[_vocabulary] : [];

        _binding = model.Session.CreateIoBinding();
        _owned.Add(_binding);
        _owned.Add(_runOptions);
        if (options.Adapter is { } adapter)
        {
            // The adapter's tensors feed the graph's LoRA inputs for this run only; the base weights stay shared.
            _runOptions.AddActiveLoraAdapter(model.GetAdapter(adapter));
            _adapterActive = true;
        }

        var cache = _graph.Cache;
        _cacheA = new NativeBuffer[cache.Count];
        _cacheB = new NativeBuffer[cache.Count];
        _pastViews = new OrtValue?[cache.Count];
        _presentViews = new OrtValue?[cache.Count];
        _kvShapes = new long[cache.Count][];
        for (var i = 0; i < cache.Count; i++)
        {
            var bytes = cache[i].ElementCount(_batch, _capacity) * cache[i].ElementSize;
            _cacheA[i] = Own(new NativeBuffer(bytes));
            _cacheB[i] = Own(new NativeBuffer(bytes));
            _kvShapes[i] = (long[])cache[i].Shape.Clone();
            _kvShapes[i][cache[i].BatchAxis] = _batch;
        }

        _mask = Own(new NativeBuffer((long)_batch * _capacity * 8));
        _maskShape = [_batch, 0];
        _stepIds = Own(new NativeBuffer(_batch * 8L));
        _stepPositions = Own(new NativeBuffer(_batch * 8L));
        _logits = Own(new NativeBuffer((long)_batch * _vocabulary * (_graph.LogitsType == TensorElementType.Float16 ? 2 : 4)));
        _useCache = Own(new NativeBuffer(1));

        // Decode steps run with name and value arrays built once: inputs ids, positions, mask, use_cache_branch, pasts;
        // outputs logits, presents. Only the mask and cache slots change from step to step.
        var names = new List<string> { _graph.InputIds };
        if (_graph.PositionIds is { } p)
        {
            names.Add(p);
        }

        _maskSlot = _graph.AttentionMask is null ? -1 : names.Count;
        if (_graph.AttentionMask is { } m)
        {
            names.Add(m);
        }

        if (_graph.UseCacheBranch is { } u)
        {
            names.Add(u);
        }

        _cacheSlot = names.Count;
        names.AddRange(cache.Select(c => c.PastName));
        _stepInputNames = [.. names];
        _stepInputs = new OrtValue?[_stepInputNames.Length];
        _stepOutputNames = [_graph.Logits, .. cache.Select(c => c.PresentName)];
        _stepOutputs = new OrtValue?[_stepOutputNames.Length];

        // Registered last: a cancellation that fires now must find the run fully built.
        _registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, _runOptions);
    }

    /// <summary>Runs one model step (the prompt first, then one token) and samples; returns whether any row goes on.</summary>
    public bool Step()
    {
        if (_rows.All(r => r.Finish is not null))
        {
            return false;
        }

        _cancellationToken.ThrowIfCancellationRequested();
        if (_steps == 0)
        {
            Prefill();
        }
        else
        {
            Advance();
        }

        _steps++;
        var total = _pastLength;
        for (var r = 0; r < _batch; r++)
        {
            var row = _rows[r];
            if (row.Finish is not null)
            {
                continue;
            }

            row.Choose(_logits.Pointer + (nint)((long)r * _vocabulary * LogitsElementSize), _rowLogits, total, _limit);
        }

        return _rows.Any(r => r.Finish is null);
    }

    public IReadOnlyList<GenerationResult> Results() => [.. _rows.Select(r => r.Result())];

    /// <summary>The newest id of row <paramref name="r"/> and the text it makes final (all remaining text once finished).</summary>
    public GeneratedToken TakeStreamUpdate(int r) => _rows[r].TakeStreamUpdate();

    /// <summary>After the prompt step: the buffer holding KV tensor <paramref name="i"/> for the prompt's positions.</summary>
    public NativeBuffer PresentCache(int i) => (_cacheInA ? _cacheA : _cacheB)[i];

    public void Dispose()
    {
        _registration.Dispose();
        _maskView?.Dispose();
        foreach (var view in _pastViews.Concat(_presentViews))
        {
            view?.Dispose();
        }

        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private void Prefill()
    {
        var p = _promptLength;
        var ids = Own(new NativeBuffer((long)_batch * p * 8));
        var positions = Own(new NativeBuffer((long)_batch * p * 8));
        for (var r = 0; r < _batch; r++)
        {
            var row = _rows[r];
            for (var t = 0; t < p; t++)
            {
                var real = t >= row.Padding;
                var index = (r * p) + t;
                Write(ids, _graph.InputIdsType, index, real ? row.Prompt[t - row.Padding] : _model.PadTokenId);
                Write(positions, _graph.PositionIdsType, index, real ? t - row.Padding : 0);
            }

            row.NextPosition = row.Prompt.Count;
        }

        long[] shape = [_batch, p];
        var inputNames = new List<string>();
        var inputs = new List<OrtValue>();
        void Input(string name, OrtValue value)
        {
            _binding.BindInput(name, value);
            inputNames.Add(name);
            inputs.Add(value);
        }

        Input(_graph.InputIds, Own(View(ids, _graph.InputIdsType, shape)));
        if (_graph.PositionIds is { } positionName)
        {
            Input(positionName, Own(View(positions, _graph.PositionIdsType, shape)));
        }

        if (_graph.UseCacheBranch is { } useCache)
        {
            Input(useCache, Own(View(_useCache, TensorElementType.Bool, [1])));
        }

        // Padding never changes after the prompt, so without any the mask is ones for the whole call.
        for (var i = 0; i < _batch * _capacity; i++)
        {
            Write(_mask, _graph.AttentionMaskType, i, 1);
        }

        BindMask(p);
        BindCache(0, p);
        if (_graph.AttentionMask is { } maskName)
        {
            Input(maskName, _maskView!);
        }

        for (var i = 0; i < _graph.Cache.Count; i++)
        {
            Input(_graph.Cache[i].PastName, _pastViews[i]!);
            _binding.BindOutput(_graph.Cache[i].PresentName, _presentViews[i]!);
        }

        var elementSize = _graph.LogitsType == TensorElementType.Float16 ? 2 : 4;
        var rowBytes = _vocabulary * elementSize;
        IDisposableReadOnlyCollection<OrtValue>? bound = null;
        OrtValue logits;
        if (_adapterActive)
        {
            logits = Own(View(Own(new NativeBuffer((long)_batch * p * rowBytes)), _graph.LogitsType, [_batch, p, _vocabulary]));
            OrtValue[] outputs = [logits, .. _presentViews.Select(v => v!)];
            Run(() => _model.Session.Run(_runOptions, inputNames, inputs, [_graph.Logits, .. _graph.Cache.Select(c => c.PresentName)], outputs));
        }
        else
        {
            _binding.BindOutputToDevice(_graph.Logits, OrtMemoryInfo.DefaultInstance);
            Run(() => _model.Session.RunWithBinding(_runOptions, _binding));

            // The prompt's logits come from ONNX Runtime's own allocation, once per call; every later step writes into ours.
            bound = _binding.GetOutputValues();
            logits = bound.ElementAt(Array.IndexOf(_binding.GetOutputNames(), _graph.Logits));
        }

        using var owner = bound;
        var raw = logits.GetTensorMutableRawData();
        for (var r = 0; r < _batch; r++)
        {
            raw.Slice((((r * p) + p - 1) * rowBytes), rowBytes).CopyTo(new Span<byte>((void*)(_logits.Pointer + (r * rowBytes)), rowBytes));
        }

        _pastLength = p;
        _cacheInA = !_cacheInA;
    }

    private void Advance()
    {
        for (var r = 0; r < _batch; r++)
        {
            var row = _rows[r];
            Write(_stepIds, _graph.InputIdsType, r, row.Finish is null ? row.Generated[^1] : _model.PadTokenId);
            Write(_stepPositions, _graph.PositionIdsType, r, row.NextPosition++);
        }

        if (_steps == 1)
        {
            long[] shape = [_batch, 1];
            var slot = 0;
            _stepInputs[slot++] = Own(View(_stepIds, _graph.InputIdsType, shape));
            if (_graph.PositionIds is not null)
            {
                _stepInputs[slot++] = Own(View(_stepPositions, _graph.PositionIdsType, shape));
            }

            if (_graph.UseCacheBranch is not null)
            {
                *(bool*)_useCache.Pointer = true;
                _stepInputs[_cacheSlot - 1] = Own(View(_useCache, TensorElementType.Bool, [1]));
            }

            _stepOutputs[0] = Own(View(_logits, _graph.LogitsType, [_batch, 1, _vocabulary]));
        }

        var total = _pastLength + 1;
        BindMask(total);
        BindCache(_pastLength, total);
        Run();
        _pastLength = total;
        _cacheInA = !_cacheInA;
    }

    private void BindMask(int total)
    {
        if (_graph.AttentionMask is null)
        {
            return;
        }

        if (_padded)
        {
            // Rows are laid out [batch, total], so the row starts move as total grows: rewrite (batch × total, small).
            for (var r = 0; r < _batch; r++)
            {
                for (var t = 0; t < total; t++)
                {
                    Write(_mask, _graph.AttentionMaskType, (r * total) + t, t < _rows[r].Padding ? 0 : 1);
                }
            }
        }

        _maskShape[1] = total;
        _maskView?.Dispose();
        _maskView = View(_mask, _graph.AttentionMaskType, _maskShape);
        _stepInputs[_maskSlot] = _maskView;
    }

    private void BindCache(int past, int present)
    {
        var cache = _graph.Cache;
        var from = _cacheInA ? _cacheA : _cacheB;
        var to = _cacheInA ? _cacheB : _cacheA;
        for (var i = 0; i < cache.Count; i++)
        {
            var kv = cache[i];
            var shape = _kvShapes[i];

            // Last step's present (same buffer, same length) is this step's past: reuse its view.
            var pastView = _presentViews[i];
            if (pastView is null || past == 0)
            {
                pastView?.Dispose();
                shape[kv.SequenceAxis] = past;
                pastView = View(from[i], kv.ElementType, shape);
            }

            shape[kv.SequenceAxis] = present;
            _pastViews[i]?.Dispose();
            _pastViews[i] = pastView;
            _presentViews[i] = View(to[i], kv.ElementType, shape);
            _stepInputs[_cacheSlot + i] = pastView;
            _stepOutputs[1 + i] = _presentViews[i];
        }
    }

    private void Run(Action? prefill = null)
    {
        try
        {
            if (prefill is not null)
            {
                // The prompt step: its [batch, prompt, vocabulary] logits are needed by this step only.
                prefill();
            }
            else
            {
                _model.Session.Run(_runOptions, _stepInputNames, _stepInputs!, _stepOutputNames, _stepOutputs!);
            }
        }
        catch (OnnxRuntimeException ex)
        {
            if (_cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("Generation was cancelled during a model step.", ex, _cancellationToken);
            }

            throw new LlmAdaptException($"{_model.ModelPath}: ONNX Runtime failed at step {_steps} (batch {_batch}, past length {_pastLength}): {ex.Message}", ex);
        }
    }

    internal static OrtValue View(NativeBuffer buffer, TensorElementType type, long[] shape)
    {
        long elements = 1;
        foreach (var d in shape)
        {
            elements *= d;
        }

        var size = type switch
        {
            TensorElementType.Float or TensorElementType.Int32 => 4,
            TensorElementType.Int64 => 8,
            TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
            TensorElementType.Bool => 1,
            _ => throw new InvalidOperationException($"Unsupported element type {type}."),
        };
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, buffer.Pointer, elements * size);
    }

    internal static void Write(NativeBuffer buffer, TensorElementType type, int index, long value)
    {
        if (type == TensorElementType.Int32)
        {
            ((int*)buffer.Pointer)[index] = (int)value;
        }
        else
        {
            ((long*)buffer.Pointer)[index] = value;
        }
    }

    private int LogitsElementSize => _graph.LogitsType == TensorElementType.Float16 ? 2 : 4;

    private static DecodeSequence[] Sequences(OnnxDecoderModel model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, bool streaming)
    {
        // One sampler for the batch: rows draw from it in order, as they always have.
        var sampler = options.CreateSampler(model.Graph.VocabularySize);
        return [.. prompts.Select(p => new DecodeSequence(model, p, options, sampler, streaming))];
    }
}
