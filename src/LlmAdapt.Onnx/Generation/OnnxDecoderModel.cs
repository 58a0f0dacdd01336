using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using LlmAdapt.Tokens;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// A decoder-only language model on ONNX Runtime with a KV cache: an ONNX Runtime GenAI folder
/// (<c>genai_config.json</c>) or a Hugging Face Optimum export (<c>config.json</c> + <c>model.onnx</c> or
/// <c>decoder_model_merged.onnx</c>), with the folder's <c>tokenizer.json</c> when Microsoft.ML.Tokenizers can read it.
/// Thread-safe: concurrent calls each get their own cache and buffers, or, with
/// <see cref="OnnxDecoderModelOptions.MaxBatchSize"/> set, share decode steps in one running batch (continuous batching).
/// </summary>
public sealed class OnnxDecoderModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly HashSet<int> _specialIds;
    private readonly KeyValuePair<string, int>[] _addedTokens;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, OrtLoraAdapter> _adapters = new(StringComparer.Ordinal);
    private ContinuousBatcher? _batcher;

    private OnnxDecoderModel(string directory, DecoderModelConfig config, DecoderGraph graph, InferenceSession session, HuggingFaceTokenizer tokenizer, int contextLength)
    {
        Directory = directory;
        Config = config;
        Graph = graph;
        _session = session;
        Tokenizer = tokenizer.Tokenizer;
        TokenizerProblem = tokenizer.Problem is null ? null : tokenizer.Problem + " Generation works on token ids only.";
        _specialIds = [.. tokenizer.SpecialTokens.Values];
        _addedTokens = [.. tokenizer.AddedTokens.OrderByDescending(t => t.Key.Length)];
        ContextLength = contextLength;

        var eos = config.EosTokenIds.Count > 0 ? config.EosTokenIds : tokenizer.EndOfSequenceId is int e ? [e] : [];
        EosTokenIds = eos;
        BosTokenId = config.BosTokenId ?? tokenizer.BeginningOfSequenceId;
        PadTokenId = config.PadTokenId ?? tokenizer.PaddingId ?? (eos.Count > 0 ? eos[0] : 0);
    }

    /// <summary>Gets the model folder.</summary>
    public string Directory { get; }

    /// <summary>Gets the ONNX file the session runs.</summary>
    public string ModelPath => Config.ModelPath;

    /// <summary>Gets the layout the folder was read as.</summary>
    public DecoderModelLayout Layout => Config.Layout;

    /// <summary>Gets the number of ids the model scores (the logits' last dimension).</summary>
    public int VocabularySize => Graph.VocabularySize;

    /// <summary>Gets the most positions a sequence (prompt and generated ids) may take.</summary>
    public int ContextLength { get; }

    /// <summary>Gets the number of transformer layers (KV-cache entries per layer: one combined or a key and a value).</summary>
    public int LayerCount => Config.CombinedPastName is null ? Graph.Cache.Count / 2 : Graph.Cache.Count;

    /// <summary>Gets the ids that end a sequence.</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Gets the beginning-of-sequence id, if the model has one.</summary>
    public int? BosTokenId { get; }

    /// <summary>Gets the id written into left padding (masked out, so its value does not change the result).</summary>
    public int PadTokenId { get; }

    /// <summary>Gets the model's tokenizer, or <see langword="null"/> when the folder has none that Microsoft.ML.Tokenizers reads (see <see cref="TokenizerProblem"/>).</summary>
    public Tokenizer? Tokenizer { get; }

    /// <summary>Gets why <see cref="Tokenizer"/> is <see langword="null"/>, or <see langword="null"/>.</summary>
    public string? TokenizerProblem { get; }

    internal DecoderModelConfig Config { get; }

    internal DecoderGraph Graph { get; }

    internal InferenceSession Session => _session;

    internal ContinuousBatcher? Batcher => _batcher;

    internal IReadOnlySet<int> SpecialIds => _specialIds;

    /// <summary>Loads a model folder.</summary>
    /// <param name="directory">The folder holding <c>genai_config.json</c>, or <c>config.json</c> and the ONNX file.</param>
    /// <param name="options">Session settings; defaults when <see langword="null"/>.</param>
    /// <returns>The loaded model.</returns>
    /// <exception cref="ModelLoadException">The folder is missing, of an unknown layout, or its config, graph, weights or tokenizer cannot be read; the message names the file.</exception>
    /// <exception cref="InvalidOptionsException"><paramref name="options"/> failed validation; it lists every problem.</exception>
    public static OnnxDecoderModel Load(string directory, OnnxDecoderModelOptions? options = null) => LoadWith(directory, options, null);

    internal static OnnxDecoderModel LoadWith(string directory, OnnxDecoderModelOptions? options, Action<SessionOptions>? configureSession)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        options ??= new OnnxDecoderModelOptions();
        OptionsValidator.ThrowIfInvalid(options);
        directory = Path.GetFullPath(directory);
        var config = DecoderModelConfig.Read(directory);
        DecoderModelConfig.CheckWeightsFile(config.ModelPath);
        foreach (var data in System.IO.Directory.EnumerateFiles(directory, Path.GetFileName(config.ModelPath) + "*data"))
        {
            DecoderModelConfig.CheckWeightsFile(data);
        }

        var tokenizer = HuggingFaceTokenizer.Read(directory);
        using var sessionOptions = new SessionOptions();
        var threads = options.IntraOpThreads ?? config.IntraOpThreads ?? OnnxDecoderModelOptions.DefaultIntraOpThreads;
        if (threads > 0)
        {
            sessionOptions.IntraOpNumThreads = threads;
        }

        configureSession?.Invoke(sessionOptions);

        InferenceSession session;
        var mappings = options.TransparentHugePages ? HugePages.Snapshot() : null;
        try
        {
            session = new InferenceSession(config.ModelPath, sessionOptions);
            HugePages.AdviseNew(mappings);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelLoadException(config.ModelPath, $"ONNX Runtime could not load the model: {ex.Message}", ex);
        }

        try
        {
            var graph = DecoderGraph.Read(session, config, config.ModelPath);
            var context = options.ContextLength > 0 ? Math.Min(options.ContextLength, config.ContextLength ?? int.MaxValue) : config.ContextLength
                ?? throw new ModelLoadException(config.ModelPath, "the config gives no context length (context_length, max_position_embeddings or n_positions); set OnnxDecoderModelOptions.ContextLength.", null);
            if (options.MaxBatchSize > 0 && graph.AttentionMask is null)
            {
                throw new ModelLoadException(config.ModelPath, $"continuous batching (MaxBatchSize {options.MaxBatchSize}) needs an attention-mask input to hide each row's padding, and the graph has none; set MaxBatchSize to 0.", null);
            }

            var model = new OnnxDecoderModel(directory, config, graph, session, tokenizer, context);
            if (options.MaxBatchSize > 0)
            {
                model._batcher = new ContinuousBatcher(model, options.MaxBatchSize);
            }

            return model;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Turns text into ids with the model's tokenizer, as Hugging Face's tokenizer does. Added tokens written in the text
    /// (special ones such as <c>&lt;|im_end|&gt;</c> or <c>&lt;/s&gt;</c>, and others such as CodeGen's whitespace runs, as
    /// listed in <c>tokenizer.json</c>) become their single ids, as chat templates need; a
    /// beginning-of-sequence id is added first for a SentencePiece tokenizer whose config asks for one, where the text does
    /// not start with it (a byte-level BPE tokenizer gets none).
    /// </summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="InvalidOperationException">The model has no tokenizer; the message says why.</exception>
    public IReadOnlyList<int> Encode(string text) => Encode(text, addBeginningOfSequence: true);

    internal List<int> Encode(string text, bool addBeginningOfSequence)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = RequireTokenizer();
        var ids = new List<int>();
        if (addBeginningOfSequence && tokenizer is SentencePieceTokenizer { AddBeginningOfSentence: true } sentencePiece
            && !text.StartsWith(sentencePiece.BeginningOfSentenceToken, StringComparison.Ordinal))
        {
            ids.Add(sentencePiece.BeginningOfSentenceId);
        }

        var at = 0;
        while (at < text.Length)
        {
            var (next, special) = NextSpecial(text, at);
            if (next > at)
            {
                var segment = text[at..next];
                ids.AddRange(tokenizer is SentencePieceTokenizer sp
                    ? sp.EncodeToIds(segment, addBeginningOfSentence: false, addEndOfSentence: false)
                    : tokenizer.EncodeToIds(segment));
            }

            if (special is not { } token)
            {
                break;
            }

            ids.Add(token.Value);
            at = next + token.Key.Length;
        }

        return ids;
    }

    /// <summary>Turns ids into text, leaving out special tokens.</summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    /// <exception cref="InvalidOperationException">The model has no tokenizer; the message says why.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return RequireTokenizer().Decode(ids.Where(id => !_specialIds.Contains(id)));
    }

    /// <summary>
    /// Generates a continuation for each prompt, as one batch: shorter prompts are left-padded, and masked where the
    /// graph has an attention-mask input, so each greedy result equals the one the prompt gets alone (sampled results
    /// draw from one generator across the batch, so they depend on the batch).
    /// </summary>
    /// <param name="prompts">The prompts' ids.</param>
    /// <param name="options">Decoding and stopping; greedy for 256 tokens when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops generation, within the running step.</param>
    /// <returns>One result per prompt, in order.</returns>
    /// <exception cref="ArgumentException">No prompt, or an empty prompt.</exception>
    /// <exception cref="InvalidOptionsException"><paramref name="options"/> failed validation; it lists every problem.</exception>
    /// <exception cref="TokenIdOutOfRangeException">An id is outside the vocabulary; it carries the prompt, position, id and vocabulary size.</exception>
    /// <exception cref="TokenBudgetExceededException">A prompt leaves no room in the context; the message gives both numbers.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var run = StartRun(prompts, options ?? new GenerationOptions(), streaming: false, cancellationToken);
        while (run.Step())
        {
        }

        return run.Results();
    }

    /// <summary>Generates a continuation for one prompt; see <see cref="Generate(IReadOnlyList{IReadOnlyList{int}}, GenerationOptions?, CancellationToken)"/>.</summary>
    /// <param name="prompt">The prompt's ids.</param>
    /// <param name="options">Decoding and stopping.</param>
    /// <param name="cancellationToken">Stops generation.</param>
    /// <returns>The result.</returns>
    public GenerationResult Generate(IReadOnlyList<int> prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
        => Generate([prompt], options, cancellationToken)[0];

    /// <summary>
    /// Generates a continuation for one prompt without blocking the caller. With
    /// <see cref="OnnxDecoderModelOptions.MaxBatchSize"/> set the request joins the running batch at the next step and
    /// leaves it when it finishes; its greedy ids equal those it gets alone. Otherwise it decodes on its own, on the thread pool.
    /// </summary>
    /// <param name="prompt">The prompt's ids.</param>
    /// <param name="options">Decoding and stopping; greedy for 256 tokens when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops generation: the request leaves the batch before the next step.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentException">An empty prompt, or an adapter that is not loaded.</exception>
    /// <exception cref="InvalidOptionsException"><paramref name="options"/> failed validation; it lists every problem.</exception>
    /// <exception cref="TokenIdOutOfRangeException">An id is outside the vocabulary.</exception>
    /// <exception cref="TokenBudgetExceededException">The prompt leaves no room in the context.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<GenerationResult> GenerateAsync(IReadOnlyList<int> prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        if (_batcher is null)
        {
            return await Task.Run(() => Generate(prompt, options, cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        var request = Submit(prompt, options, streaming: false, cancellationToken);
        return await request.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Generates a continuation for <paramref name="prompt"/>, yielding each id and the text it makes final as soon as it
    /// is decoded. With <see cref="OnnxDecoderModelOptions.MaxBatchSize"/> set the request joins the running batch (see
    /// <see cref="GenerateAsync"/>); a consumer that stops early or cancels frees its slot before the next step.
    /// </summary>
    /// <param name="prompt">The prompt's ids.</param>
    /// <param name="options">Decoding and stopping.</param>
    /// <param name="cancellationToken">Stops generation, within the running step.</param>
    /// <returns>The updates; the last carries the finish reason.</returns>
    public async IAsyncEnumerable<GeneratedToken> GenerateStreamingAsync(IReadOnlyList<int> prompt, GenerationOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (_batcher is not null)
        {
            var request = Submit(prompt, options ?? new GenerationOptions(), streaming: true, cancellationToken);
            try
            {
                await foreach (var update in request.Updates!.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    yield return update;
                }
            }
            finally
            {
                // A consumer that stops listening (break, dispose, cancellation) gives its slot back.
                request.Abandon();
            }

            yield break;
        }

        using var run = StartRun([prompt], options ?? new GenerationOptions(), streaming: true, cancellationToken);
        var more = true;
        while (more)
        {
            more = run.Step();
            var update = run.TakeStreamUpdate(0);
            if (update.TokenId >= 0 || update.Text.Length > 0 || update.FinishReason is not null)
            {
                yield return update;
            }

            // Let a consumer on this thread act on the token before the next step runs.
            await Task.Yield();
        }
    }

    /// <summary>
    /// Gets the counts of the continuous batch (requests admitted, completed, cancelled; sequences holding a KV slot now;
    /// requests waiting), or <see langword="null"/> when <see cref="OnnxDecoderModelOptions.MaxBatchSize"/> is 0.
    /// </summary>
    public ContinuousBatchingStatistics? BatchingStatistics => _batcher?.Statistics;

    /// <summary>Gets the names of the LoRA adapters loaded with <see cref="LoadAdapter"/>.</summary>
    public IReadOnlyCollection<string> AdapterNames => [.. _adapters.Keys.Order(StringComparer.Ordinal)];

    /// <summary>
    /// Loads an ONNX Runtime LoRA adapter file (<c>.onnx_adapter</c>, from <c>llmadapt export adapter</c>) once, under
    /// <paramref name="name"/>, for calls that set <see cref="GenerationOptions.Adapter"/>. The model must have been
    /// exported with its LoRA kept separate (<c>--keep-lora-separate</c>); one copy of the base weights serves every
    /// adapter and the base model (no adapter) stays available. Concurrent calls with different adapters do not mix.
    /// </summary>
    /// <param name="name">The name calls use; not empty, without ':'.</param>
    /// <param name="path">The adapter file.</param>
    /// <exception cref="ArgumentException">The name is empty, has ':', or is taken.</exception>
    /// <exception cref="ModelLoadException">The model has no LoRA inputs, or the file is missing or unreadable; the message names the file.</exception>
    public void LoadAdapter(string name, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (name.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The adapter name '{name}' has ':', which separates a model from its adapter in model ids.", nameof(name));
        }

        if (!_session.InputMetadata.Keys.Concat(_session.OverridableInitializerMetadata.Keys).Any(k => k.EndsWith(".lora_A.weight", StringComparison.Ordinal)))
        {
            throw new ModelLoadException(ModelPath, "the graph has no LoRA inputs, so it cannot take adapters; export the model with --keep-lora-separate (OnnxExportOptions.KeepLoraSeparate).", null);
        }

        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, "the adapter file does not exist.", null);
        }

        OrtLoraAdapter adapter;
        try
        {
            adapter = OrtLoraAdapter.Create(path, null);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelLoadException(path, $"ONNX Runtime could not read the adapter: {ex.Message}", ex);
        }

        if (!_adapters.TryAdd(name, adapter))
        {
            adapter.Dispose();
            throw new ArgumentException($"An adapter named '{name}' is already loaded.", nameof(name));
        }
    }

    /// <summary>Releases the ONNX Runtime session and the adapters; requests still in the batch fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _batcher?.Dispose();
        _session.Dispose();
        foreach (var adapter in _adapters.Values)
        {
            adapter.Dispose();
        }
    }

    internal OrtLoraAdapter GetAdapter(string name) => _adapters.TryGetValue(name, out var adapter)
        ? adapter
        : throw new ArgumentException($"No adapter named '{name}' is loaded; loaded: {(_adapters.IsEmpty ? "none" : string.Join(", ", AdapterNames))}.", nameof(name));

    internal DecodeRun StartRun(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options, bool streaming, CancellationToken cancellationToken)
    {
        CheckRequest(prompts, options);
        cancellationToken.ThrowIfCancellationRequested();
        return new DecodeRun(this, prompts, options, streaming, cancellationToken);
    }

    private BatchRequest Submit(IReadOnlyList<int> prompt, GenerationOptions options, bool streaming, CancellationToken cancellationToken)
    {
        CheckRequest([prompt], options);
        cancellationToken.ThrowIfCancellationRequested();
        return _batcher!.Submit(prompt, options, streaming, cancellationToken);
    }

    private void CheckRequest(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (prompts.Count == 0)
        {
            throw new ArgumentException("At least one prompt is needed.", nameof(prompts));
        }

        for (var p = 0; p < prompts.Count; p++)
        {
            var prompt = prompts[p] ?? throw new ArgumentException($"Prompt {p} is null.", nameof(prompts));
            if (prompt.Count == 0)
            {
                throw new ArgumentException($"Prompt {p} is empty: a decoder needs at least one id to start from.", nameof(prompts));
            }

            for (var i = 0; i < prompt.Count; i++)
            {
                if ((uint)prompt[i] >= (uint)VocabularySize)
                {
                    throw new TokenIdOutOfRangeException(p, i, prompt[i], VocabularySize);
                }
            }

            if (prompt.Count >= ContextLength)
            {
                throw new TokenBudgetExceededException(prompt.Count, ContextLength - 1, $"prompt {p} (context of {ContextLength} positions, one kept for generation)");
            }
        }

        if (options.StopStrings.Count > 0 && Tokenizer is null)
        {
            throw new ArgumentException($"Stop strings need the model's tokenizer, which is missing: {TokenizerProblem}", nameof(options));
        }

        if (options.Adapter is { } adapter)
        {
            GetAdapter(adapter);
        }
    }

    private (int At, KeyValuePair<string, int>? Token) NextSpecial(string text, int from)
    {
        var best = text.Length;
        KeyValuePair<string, int>? found = null;
        foreach (var token in _addedTokens)
        {
            // Longest first, so the earliest position keeps the longest token that starts there.
            var at = text.IndexOf(token.Key, from, StringComparison.Ordinal);
            if (at >= 0 && at < best)
            {
                best = at;
                found = token;
            }
        }

        return (best, found);
    }

    private Tokenizer RequireTokenizer()
        => Tokenizer ?? throw new InvalidOperationException($"The model in {Directory} has no tokenizer: {TokenizerProblem}");
}
