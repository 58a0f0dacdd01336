using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// Continuous batching: one decode loop, on its own thread, runs the requests of a model together. Between two decode
/// steps it admits new requests (each prompt is run alone, its first id chosen, and its KV cache copied into the
/// running batch) and drops the finished and cancelled ones (their slot is free before the next step). Requests for
/// different LoRA adapters never share a step: each adapter (and the base model) has its own lane, and the loop steps
/// every non-empty lane in turn.
/// </summary>
/// <remarks>
/// A lane's cache is one [batch, …, length, …] tensor per KV input, as the graph takes it. A row's positions are
/// right-aligned: a row holding fewer positions than the longest is left-padded, and the attention mask hides the
/// padding, so every row attends to exactly its own positions and gets its own position ids; its greedy ids equal
/// those it gets alone. The length is always that of the longest row: whenever rows join or leave, the cache is
/// repacked into the lane's second buffer (which the next step would overwrite anyway) with the columns no row needs
/// cut off. Each step ONNX Runtime reads the past from one buffer and writes the present into the other.
/// </remarks>
internal sealed unsafe class ContinuousBatcher : IDisposable
{
    private readonly OnnxDecoderModel _model;
    private readonly DecoderGraph _graph;
    private readonly int _maxBatch;
    private readonly Channel<BatchRequest> _arrivals = Channel.CreateUnbounded<BatchRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<BatchRequest> _waiting = [];
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly int _logitsElementSize;
    private long _admitted;
    private long _completed;
    private long _cancelled;
    private long _failed;
    private long _steps;
    private long _tokens;
    private int _queued;
    private int _active;
    private int _peak;
    private int _disposed;
    private long _rounds;

    public ContinuousBatcher(OnnxDecoderModel model, int maxBatch)
    {
        _model = model;
        _graph = model.Graph;
        _maxBatch = maxBatch;
        _logitsElementSize = _graph.LogitsType == TensorElementType.Float16 ? 2 : 4;

        // Step inputs in this order: ids, positions, mask, use_cache_branch, pasts; outputs: logits, presents.
        var names = new List<string> { _graph.InputIds };
        if (_graph.PositionIds is { } p)
        {
            names.Add(p);
        }

        names.Add(_graph.AttentionMask!);
        if (_graph.UseCacheBranch is { } u)
        {
            names.Add(u);
        }

        names.AddRange(_graph.Cache.Select(c => c.PastName));
        _inputNames = [.. names];
        _outputNames = [_graph.Logits, .. _graph.Cache.Select(c => c.PresentName)];
        _thread = new Thread(Loop) { IsBackground = true, Name = "LlmAdapt continuous batch" };
        _thread.Start();
    }

    /// <summary>Gets or sets a callback run on the decode loop before each round of steps, with the rounds run so far (tests stage arrivals with it).</summary>
    internal Action<long>? BeforeRound { get; set; }

    /// <summary>Gets a token <see cref="Dispose"/> cancels (after marking the batcher disposed) to ask the loop to stop; valid while the loop runs.</summary>
    internal CancellationToken Stopping => _stop.Token;

    public ContinuousBatchingStatistics Statistics => new(
        Interlocked.Read(ref _admitted),
        Interlocked.Read(ref _completed),
        Interlocked.Read(ref _cancelled),
        Interlocked.Read(ref _failed),
        Volatile.Read(ref _active),
        Volatile.Read(ref _queued),
        Interlocked.Read(ref _steps),
        Interlocked.Read(ref _tokens),
        Volatile.Read(ref _peak));

    /// <summary>Queues a request; it joins the running batch between two steps.</summary>
    public BatchRequest Submit(IReadOnlyList<int> prompt, GenerationOptions options, bool streaming, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var request = new BatchRequest(new DecodeSequence(_model, prompt, options, options.CreateSampler(_graph.VocabularySize), streaming), options, streaming, cancellationToken);
        Interlocked.Increment(ref _queued);
        if (!_arrivals.Writer.TryWrite(request))
        {
            Interlocked.Decrement(ref _queued);
            request.Dispose();
            throw new ObjectDisposedException(nameof(OnnxDecoderModel));
        }

        return request;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The loop finishes the step it is in, fails what is left and frees the caches.
        _arrivals.Writer.TryComplete();
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }

    private void Loop()
    {
        var reader = _arrivals.Reader;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (_waiting.Count == 0 && _lanes.Values.All(l => l.Rows.Count == 0))
                {
                    // Idle: hold no KV memory and wait for the next request.
                    foreach (var lane in _lanes.Values)
                    {
                        lane.Release();
                    }

                    try
                    {
                        if (!reader.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult())
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }

                BeforeRound?.Invoke(_rounds++);
                while (reader.TryRead(out var request))
                {
                    _waiting.Add(request);
                }

                Admit();
                foreach (var lane in _lanes.Values)
                {
                    if (lane.Rows.Count > 0 || lane.Joining.Count > 0)
                    {
                        StepLane(lane);
                    }
                }
            }
        }
        finally
        {
            var disposed = new ObjectDisposedException(nameof(OnnxDecoderModel), "The model was disposed while the request was decoding.");
            while (reader.TryRead(out var request))
            {
                _waiting.Add(request);
            }

            foreach (var request in _waiting.Concat(_lanes.Values.SelectMany(l => l.Rows.Concat(l.Joining))))
            {
                request.Fail(disposed);
            }

            foreach (var lane in _lanes.Values)
            {
                lane.Dispose();
            }

            _lanes.Clear();
            Volatile.Write(ref _active, 0);
            Volatile.Write(ref _queued, 0);
        }
    }

    /// <summary>Runs the prompt of each waiting request whose lane has room, in arrival order; drops cancelled ones.</summary>
    private void Admit()
    {
        for (var i = 0; i < _waiting.Count; i++)
        {
            var request = _waiting[i];
            if (request.Token.IsCancellationRequested)
            {
                request.Cancel();
                Interlocked.Increment(ref _cancelled);
            }
            else
            {
                var lane = LaneFor(request.Options.Adapter);
                if (lane.Rows.Count + lane.Joining.Count >= _maxBatch)
                {
                    continue;
                }

                Interlocked.Increment(ref _admitted);
                Prefill(request, lane);
            }

            _waiting.RemoveAt(i--);
            Interlocked.Decrement(ref _queued);
        }
    }

    private void Prefill(BatchRequest request, Lane lane)
    {
        var sequence = request.Sequence;
        DecodeRun? run = null;
        try
        {
            // The prompt alone, in a cache exactly its length: the run sets the sequence's position and chooses its first id.
            run = new DecodeRun(_model, [sequence], request.Options, capacity: sequence.Prompt.Count, request.Token);
            run.Step();
        }
        catch (OperationCanceledException)
        {
            run?.Dispose();
            request.Cancel();
            Interlocked.Increment(ref _cancelled);
            return;
        }
        catch (Exception ex) when (ex is LlmAdaptException or OnnxRuntimeException)
        {
            run?.Dispose();
            request.Fail(ex);
            Interlocked.Increment(ref _failed);
            return;
        }

        Interlocked.Increment(ref _tokens);
        request.Publish();
        if (sequence.Finish is not null)
        {
            run.Dispose();
            request.Complete();
            Interlocked.Increment(ref _completed);
            return;
        }

        request.Prefill = run;
        lane.Joining.Add(request);
        CountActive();
    }

    private void StepLane(Lane lane)
    {
        // Leave: cancelled rows (their callers stopped listening or cancelled) go before the step.
        var left = new List<BatchRequest>();
        var kept = new List<(BatchRequest Row, int From)>(lane.Rows.Count);
        for (var i = 0; i < lane.Rows.Count; i++)
        {
            if (lane.Rows[i].Token.IsCancellationRequested)
            {
                left.Add(lane.Rows[i]);
            }
            else
            {
                kept.Add((lane.Rows[i], i));
            }
        }

        var joining = new List<BatchRequest>(lane.Joining.Count);
        foreach (var row in lane.Joining)
        {
            (row.Token.IsCancellationRequested ? left : joining).Add(row);
        }

        if (kept.Count != lane.Rows.Count || lane.Joining.Count > 0)
        {
            lane.Repack(kept, joining);
            foreach (var row in lane.Joining)
            {
                row.Prefill?.Dispose();
                row.Prefill = null;
            }

            lane.Joining.Clear();
        }

        // Slots are counted free before the callers hear of it, so a caller that sees its request end sees its slot free.
        CountActive();
        foreach (var row in left)
        {
            row.Cancel();
            Interlocked.Increment(ref _cancelled);
        }

        if (lane.Rows.Count == 0)
        {
            return;
        }

        try
        {
            RunStep(lane);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or LlmAdaptException)
        {
            var failure = new LlmAdaptException($"{_model.ModelPath}: ONNX Runtime failed at a batched decode step (batch {lane.Rows.Count}, length {lane.Length}): {ex.Message}", ex);
            var failed = lane.Rows.ToList();
            lane.Rows.Clear();
            lane.Release();
            CountActive();
            foreach (var row in failed)
            {
                row.Fail(failure);
                Interlocked.Increment(ref _failed);
            }

            return;
        }

        Interlocked.Increment(ref _steps);
        Interlocked.Add(ref _tokens, lane.Rows.Count);
        var rowBytes = (long)_graph.VocabularySize * _logitsElementSize;
        var finished = new List<BatchRequest>();
        var going = new List<(BatchRequest Row, int From)>(lane.Rows.Count);
        for (var r = 0; r < lane.Rows.Count; r++)
        {
            var row = lane.Rows[r];
            var sequence = row.Sequence;
            sequence.NextPosition++;
            sequence.Choose(lane.Logits!.Pointer + (nint)(r * rowBytes), lane.Scratch, sequence.NextPosition, _model.ContextLength);
            row.Publish();
            if (sequence.Finish is null)
            {
                going.Add((row, r));
            }
            else
            {
                finished.Add(row);
            }
        }

        if (finished.Count > 0)
        {
            // A finished row frees its slot now: the cache is repacked without it before the next step.
            lane.Repack(going, []);
            CountActive();
            foreach (var row in finished)
            {
                row.Complete();
                Interlocked.Increment(ref _completed);
            }
        }
    }

    private void RunStep(Lane lane)
    {
        var batch = lane.Rows.Count;
        var length = lane.Length;
        lane.EnsureStepBuffers(batch, length + 1);
        for (var r = 0; r < batch; r++)
        {
            var sequence = lane.Rows[r].Sequence;
            DecodeRun.Write(lane.Ids!, _graph.InputIdsType, r, sequence.Generated[^1]);
            DecodeRun.Write(lane.Positions!, _graph.PositionIdsType, r, sequence.NextPosition);

            // Positions before the row's own are padding: masked, so the row attends to its own positions only.
            var padding = length - sequence.NextPosition;
            for (var t = 0; t <= length; t++)
            {
                DecodeRun.Write(lane.Mask!, _graph.AttentionMaskType, (r * (length + 1)) + t, t < padding ? 0 : 1);
            }
        }

        var owned = new List<OrtValue>(_inputNames.Length + _outputNames.Length);
        OrtValue Own(OrtValue value)
        {
            owned.Add(value);
            return value;
        }

        try
        {
            long[] rows = [batch, 1];
            var inputs = new List<OrtValue> { Own(DecodeRun.View(lane.Ids!, _graph.InputIdsType, rows)) };
            if (_graph.PositionIds is not null)
            {
                inputs.Add(Own(DecodeRun.View(lane.Positions!, _graph.PositionIdsType, rows)));
            }

            inputs.Add(Own(DecodeRun.View(lane.Mask!, _graph.AttentionMaskType, [batch, length + 1])));
            if (_graph.UseCacheBranch is not null)
            {
                *(bool*)lane.UseCache.Pointer = true;
                inputs.Add(Own(DecodeRun.View(lane.UseCache, TensorElementType.Bool, [1])));
            }

            var outputs = new List<OrtValue> { Own(DecodeRun.View(lane.Logits!, _graph.LogitsType, [batch, 1, _graph.VocabularySize])) };
            for (var i = 0; i < _graph.Cache.Count; i++)
            {
                var kv = _graph.Cache[i];
                inputs.Add(Own(DecodeRun.View(lane.Current[i]!, kv.ElementType, Lane.Shape(kv, batch, length))));
                outputs.Add(Own(DecodeRun.View(lane.Spare[i]!, kv.ElementType, Lane.Shape(kv, batch, length + 1))));
            }

            _model.Session.Run(lane.RunOptions, _inputNames, inputs, _outputNames, outputs);
        }
        finally
        {
            foreach (var value in owned)
            {
                value.Dispose();
            }
        }

        lane.Swap();
        lane.Length = length + 1;
    }

    private Lane LaneFor(string? adapter)
    {
        var key = adapter ?? string.Empty;
        if (!_lanes.TryGetValue(key, out var lane))
        {
            lane = new Lane(_model, adapter, _maxBatch);
            _lanes.Add(key, lane);
        }

        return lane;
    }

    private void CountActive()
    {
        var active = 0;
        foreach (var lane in _lanes.Values)
        {
            active += lane.Rows.Count + lane.Joining.Count;
        }

        Volatile.Write(ref _active, active);
        if (active > _peak)
        {
            Volatile.Write(ref _peak, active);
        }
    }

    /// <summary>The running batch of one adapter (or of the base model): its rows, cache buffers and step buffers.</summary>
    private sealed class Lane : IDisposable
    {
        private readonly OnnxDecoderModel _model;
        private readonly DecoderGraph _graph;
        private readonly int _maxBatch;

        public Lane(OnnxDecoderModel model, string? adapter, int maxBatch)
        {
            _model = model;
            _graph = model.Graph;
            _maxBatch = maxBatch;
            RunOptions = new RunOptions();
            if (adapter is not null)
            {
                RunOptions.AddActiveLoraAdapter(model.GetAdapter(adapter));
            }

            Current = new NativeBuffer?[_graph.Cache.Count];
            Spare = new NativeBuffer?[_graph.Cache.Count];
            Scratch = new float[_graph.VocabularySize];
            UseCache = new NativeBuffer(1);
        }

        public RunOptions RunOptions { get; }

        public List<BatchRequest> Rows { get; } = [];

        public List<BatchRequest> Joining { get; } = [];

        /// <summary>Gets or sets the positions each row of the cache spans (the longest row's).</summary>
        public int Length { get; set; }

        public NativeBuffer?[] Current { get; private set; }

        public NativeBuffer?[] Spare { get; private set; }

        public NativeBuffer? Ids { get; private set; }

        public NativeBuffer? Positions { get; private set; }

        public NativeBuffer? Mask { get; private set; }

        public NativeBuffer? Logits { get; private set; }

        public NativeBuffer UseCache { get; }

        public float[] Scratch { get; }

        public static long[] Shape(KvTensor kv, int batch, int length)
        {
            var shape = (long[])kv.Shape.Clone();
            shape[kv.BatchAxis] = batch;
            shape[kv.SequenceAxis] = length;
            return shape;
        }

        /// <summary>
        /// Writes the kept rows (from the current cache) then the joining rows (from their prompt runs) into the spare
        /// buffers, each right-aligned in the new length (the longest row's), and makes those buffers current.
        /// </summary>
        public void Repack(IReadOnlyList<(BatchRequest Row, int From)> kept, IReadOnlyList<BatchRequest> joining)
        {
            var rows = kept.Select(k => k.Row).Concat(joining).ToList();
            var oldBatch = Rows.Count;
            var oldLength = Length;
            var length = rows.Count == 0 ? 0 : rows.Max(r => r.Sequence.NextPosition);
            for (var i = 0; i < _graph.Cache.Count; i++)
            {
                var kv = _graph.Cache[i];
                var destination = Ensure(Spare, i, kv.ElementCount(rows.Count, length + 1) * kv.ElementSize);
                for (var j = 0; j < rows.Count; j++)
                {
                    var valid = rows[j].Sequence.NextPosition;
                    if (j < kept.Count)
                    {
                        CopyRow(kv, Current[i]!, oldBatch, oldLength, kept[j].From, destination, rows.Count, length, j, valid);
                    }
                    else
                    {
                        CopyRow(kv, rows[j].Prefill!.PresentCache(i), 1, valid, 0, destination, rows.Count, length, j, valid);
                    }
                }
            }

            Swap();
            Length = length;
            Rows.Clear();
            Rows.AddRange(rows);
        }

        /// <summary>Makes room for a step of <paramref name="batch"/> rows writing <paramref name="present"/> positions.</summary>
        public void EnsureStepBuffers(int batch, int present)
        {
            for (var i = 0; i < _graph.Cache.Count; i++)
            {
                var kv = _graph.Cache[i];
                Ensure(Spare, i, kv.ElementCount(batch, present) * kv.ElementSize);
            }

            Ids ??= new NativeBuffer(_maxBatch * 8L);
            Positions ??= new NativeBuffer(_maxBatch * 8L);
            Logits ??= new NativeBuffer((long)_maxBatch * _graph.VocabularySize * (_graph.LogitsType == TensorElementType.Float16 ? 2 : 4));
            var maskBytes = (long)batch * present * 8;
            if (Mask is null || Mask.Bytes < maskBytes)
            {
                Mask?.Dispose();
                Mask = new NativeBuffer(Grow(maskBytes));
            }
        }

        public void Swap() => (Current, Spare) = (Spare, Current);

        /// <summary>Frees the cache and step buffers (the lane is empty); they are allocated again when rows arrive.</summary>
        public void Release()
        {
            foreach (var buffer in Current.Concat(Spare))
            {
                buffer?.Dispose();
            }

            Array.Clear(Current);
            Array.Clear(Spare);
            Mask?.Dispose();
            Mask = null;
            Ids?.Dispose();
            Ids = null;
            Positions?.Dispose();
            Positions = null;
            Logits?.Dispose();
            Logits = null;
            Length = 0;
        }

        public void Dispose()
        {
            Release();
            UseCache.Dispose();
            RunOptions.Dispose();
        }

        // Buffers grow by a quarter at least, so a lane whose rows grow one position a step reallocates rarely.
        private static long Grow(long bytes) => bytes + (bytes / 4);

        private static NativeBuffer Ensure(NativeBuffer?[] buffers, int i, long bytes)
        {
            if (buffers[i] is { } buffer && buffer.Bytes >= bytes)
            {
                return buffer;
            }

            buffers[i]?.Dispose();
            return buffers[i] = new NativeBuffer(Grow(bytes));
        }

        /// <summary>Copies the last <paramref name="valid"/> positions of one row, zeroing the padding before them.</summary>
        private static void CopyRow(KvTensor kv, NativeBuffer source, int sourceBatch, int sourceLength, int sourceRow, NativeBuffer destination, int destinationBatch, int destinationLength, int destinationRow, int valid)
        {
            long outer = 1, heads = 1, tail = 1;
            for (var a = 0; a < kv.Shape.Length; a++)
            {
                if (a < kv.BatchAxis)
                {
                    outer *= kv.Shape[a];
                }
                else if (a > kv.BatchAxis && a < kv.SequenceAxis)
                {
                    heads *= kv.Shape[a];
                }
                else if (a > kv.SequenceAxis)
                {
                    tail *= kv.Shape[a];
                }
            }

            var size = kv.ElementSize;
            var padding = destinationLength - valid;
            for (long o = 0; o < outer; o++)
            {
                for (long h = 0; h < heads; h++)
                {
                    var from = ((((o * sourceBatch) + sourceRow) * heads) + h) * sourceLength;
                    var to = ((((o * destinationBatch) + destinationRow) * heads) + h) * destinationLength;
                    var target = (byte*)destination.Pointer + (to * tail * size);
                    NativeMemory.Clear(target, (nuint)(padding * tail * size));
                    NativeMemory.Copy((byte*)source.Pointer + ((from + sourceLength - valid) * tail * size), target + (padding * tail * size), (nuint)(valid * tail * size));
                }
            }
        }
    }
}

/// <summary>One request of the continuous batch: its sequence, and where its ids and result go.</summary>
internal sealed class BatchRequest : IDisposable
{
    private readonly CancellationTokenSource _cancellation;

    public BatchRequest(DecodeSequence sequence, GenerationOptions options, bool streaming, CancellationToken cancellationToken)
    {
        Sequence = sequence;
        Options = options;
        _cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Token = _cancellation.Token;
        CallerToken = cancellationToken;
        Updates = streaming ? Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true }) : null;
    }

    public DecodeSequence Sequence { get; }

    public GenerationOptions Options { get; }

    /// <summary>Gets the token the decode loop watches: the caller's, or <see cref="Abandon"/>.</summary>
    public CancellationToken Token { get; }

    public CancellationToken CallerToken { get; }

    public Channel<GeneratedToken>? Updates { get; }

    public TaskCompletionSource<GenerationResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Gets or sets the run that decoded the prompt, whose cache the batch copies when the request joins.</summary>
    public DecodeRun? Prefill { get; set; }

    /// <summary>Tells the decode loop the caller stopped listening: the request leaves before the next step.</summary>
    public void Abandon()
    {
        if (!Completion.Task.IsCompleted)
        {
            try
            {
                _cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public void Publish()
    {
        if (Updates is { } updates)
        {
            var update = Sequence.TakeStreamUpdate();
            if (update.TokenId >= 0 || update.Text.Length > 0 || update.FinishReason is not null)
            {
                updates.Writer.TryWrite(update);
            }
        }
    }

    public void Complete()
    {
        Updates?.Writer.TryComplete();
        Completion.TrySetResult(Sequence.Result());
        Dispose();
    }

    public void Cancel()
    {
        var exception = new OperationCanceledException("Generation was cancelled.", CallerToken.IsCancellationRequested ? CallerToken : Token);
        Updates?.Writer.TryComplete(exception);
        Completion.TrySetCanceled(CallerToken.IsCancellationRequested ? CallerToken : Token);
        Dispose();
    }

    public void Fail(Exception exception)
    {
        Updates?.Writer.TryComplete(exception);
        Completion.TrySetException(exception);
        Dispose();
    }

    public void Dispose()
    {
        Prefill?.Dispose();
        Prefill = null;
        _cancellation.Dispose();
    }
}
