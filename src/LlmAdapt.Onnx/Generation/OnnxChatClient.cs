using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// A local decoder model as an <see cref="IChatClient"/>: the conversation is written with a chat template, tokenized
/// with the model's tokenizer and decoded on ONNX Runtime with a KV cache. Streaming yields text as tokens are decoded;
/// responses report usage and finish reason. Thread-safe: concurrent requests each decode with their own cache, or join
/// the model's continuous batch where it has one (<see cref="OnnxDecoderModelOptions.MaxBatchSize"/>).
/// </summary>
/// <remarks>
/// <see cref="ChatOptions"/> maps as follows: <c>MaxOutputTokens</c>, <c>Temperature</c> (absent or 0: greedy),
/// <c>TopP</c>, <c>TopK</c>, <c>Seed</c>, <c>StopSequences</c>; <c>AdditionalProperties["repetition_penalty"]</c> sets
/// the repetition penalty; <c>ModelId</c> of the form <c>model:adapter</c> decodes with a LoRA adapter loaded by
/// <see cref="OnnxDecoderModel.LoadAdapter"/> (a <c>model:adapter</c> id naming an adapter that is not loaded is an
/// <see cref="ArgumentException"/>; an id without <c>:</c>, or none: the base weights). Tools and response formats other than plain text are not supported: a request that sets
/// them is refused with <see cref="NotSupportedException"/> rather than answered as if they were honoured.
/// </remarks>
public sealed partial class OnnxChatClient : IChatClient
{
    private readonly OnnxDecoderModel _model;
    private readonly OnnxChatClientOptions _options;
    private readonly ILogger _logger;
    private readonly ChatClientMetadata _metadata;
    private readonly int? _endOfTurnId;
    private readonly string? _endOfTurnText;

    /// <summary>Initializes a client over a loaded model.</summary>
    /// <param name="model">The model; it needs a tokenizer. The client does not dispose it.</param>
    /// <param name="options">Template and defaults; ChatML and 256 tokens when <see langword="null"/>.</param>
    /// <param name="logger">Logs counts at Debug and prompts only at Trace.</param>
    /// <exception cref="ArgumentException">The model has no tokenizer.</exception>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public OnnxChatClient(OnnxDecoderModel model, OnnxChatClientOptions? options = null, ILogger<OnnxChatClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _options = options ?? new OnnxChatClientOptions();
        OptionsValidator.ThrowIfInvalid(_options);
        if (model.Tokenizer is null)
        {
            throw new ArgumentException($"A chat client needs the model's tokenizer: {model.TokenizerProblem}", nameof(model));
        }

        _model = model;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _metadata = new ChatClientMetadata("llmadapt-onnx", null, _options.ModelId ?? Path.GetFileName(model.Directory));

        // The end of the assistant's turn is one special id where the vocabulary has it, else a stop string.
        var endOfTurn = _options.Formatter is null ? ChatPromptFormatter.EndOfTurn(_options.Template) : _options.EndOfTurn;
        if (endOfTurn is not null)
        {
            var ids = model.Encode(endOfTurn, addBeginningOfSequence: false);
            if (ids.Count == 1 && model.SpecialIds.Contains(ids[0]))
            {
                _endOfTurnId = ids[0];
            }
            else
            {
                _endOfTurnText = endOfTurn;
            }
        }
    }

    /// <summary>Gets the model this client decodes with.</summary>
    public OnnxDecoderModel Model => _model;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prompt, generation) = Prepare(messages, options);
        var result = await _model.GenerateAsync(prompt, generation, cancellationToken).ConfigureAwait(false);
        LogDone(_logger, prompt.Count, result.TokenIds.Count, result.FinishReason);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, result.Text))
        {
            ModelId = _metadata.DefaultModelId,
            FinishReason = Map(result.FinishReason),
            Usage = Usage(prompt.Count, result.TokenIds.Count),
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (prompt, generation) = Prepare(messages, options);
        var responseId = Guid.NewGuid().ToString("N");
        var generated = 0;
        await foreach (var update in _model.GenerateStreamingAsync(prompt, generation, cancellationToken).ConfigureAwait(false))
        {
            if (update.TokenId >= 0)
            {
                generated++;
            }

            if (update.Text.Length > 0)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, update.Text) { ResponseId = responseId, ModelId = _metadata.DefaultModelId };
            }

            if (update.FinishReason is { } finish)
            {
                LogDone(_logger, prompt.Count, generated, finish);
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(prompt.Count, generated))])
                {
                    ResponseId = responseId,
                    ModelId = _metadata.DefaultModelId,
                    FinishReason = Map(finish),
                };
            }
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(_model) ? _model
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Does nothing: the model belongs to whoever created it (the DI container for <c>AddOnnxChatClient</c>).</summary>
    public void Dispose()
    {
    }

    internal string FormatPrompt(IReadOnlyList<ChatMessage> messages)
        => _options.Formatter is { } formatter ? formatter(messages) : ChatPromptFormatter.Format(_options.Template, messages);

    // "model:adapter" picks a loaded adapter; a model id without ':' is the base model.
    private string? AdapterOf(string? modelId)
    {
        var colon = modelId?.LastIndexOf(':') ?? -1;
        if (colon < 0)
        {
            return null;
        }

        var adapter = modelId![(colon + 1)..];
        return _model.AdapterNames.Contains(adapter)
            ? adapter
            : throw new ArgumentException($"The model id '{modelId}' names the adapter '{adapter}', which is not loaded; loaded: {(_model.AdapterNames.Count == 0 ? "none" : string.Join(", ", _model.AdapterNames))}.", nameof(modelId));
    }

    private static ChatFinishReason Map(GenerationFinishReason reason) => reason switch
    {
        GenerationFinishReason.EndOfSequence or GenerationFinishReason.StopString => ChatFinishReason.Stop,
        _ => ChatFinishReason.Length,
    };

    private static UsageDetails Usage(int input, int output) => new() { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Generated {OutputTokens} tokens for a prompt of {InputTokens} tokens ({FinishReason}).")]
    private static partial void LogDone(ILogger logger, int inputTokens, int outputTokens, GenerationFinishReason finishReason);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Prompt: {Prompt}")]
    private static partial void LogPrompt(ILogger logger, string prompt);

    private (IReadOnlyList<int> Prompt, GenerationOptions Generation) Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("At least one message is needed.", nameof(messages));
        }

        if (options?.Tools is { Count: > 0 } tools)
        {
            throw new NotSupportedException($"{nameof(OnnxChatClient)} cannot call tools; the request lists {tools.Count} ({string.Join(", ", tools.Select(t => t.Name))}). Remove ChatOptions.Tools, or use a client that supports function calling.");
        }

        if (options?.ResponseFormat is { } format and not ChatResponseFormatText)
        {
            throw new NotSupportedException($"{nameof(OnnxChatClient)} cannot constrain its output to a response format ({format.GetType().Name}); only plain text is produced. Remove ChatOptions.ResponseFormat.");
        }

        var text = FormatPrompt(list);
        LogPrompt(_logger, text);
        var generation = new GenerationOptions
        {
            MaxNewTokens = options?.MaxOutputTokens ?? _options.DefaultMaxOutputTokens,
            Temperature = options?.Temperature ?? 0,
            TopP = options?.TopP ?? 1.0,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed is long seed ? unchecked((int)seed) : null,
            StopStrings = [.. options?.StopSequences ?? [], .. _endOfTurnText is null ? Array.Empty<string>() : [_endOfTurnText]],
            StopTokenIds = _endOfTurnId is int id ? [id] : [],
            Adapter = AdapterOf(options?.ModelId),
        };
        if (options?.AdditionalProperties?.TryGetValue("repetition_penalty", out var penalty) == true)
        {
            generation.RepetitionPenalty = Convert.ToDouble(penalty, System.Globalization.CultureInfo.InvariantCulture);
        }

        return (_model.Encode(text), generation);
    }
}
