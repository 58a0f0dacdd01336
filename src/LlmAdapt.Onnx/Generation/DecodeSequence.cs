using System.Numerics.Tensors;
using LlmAdapt.Generation;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// The state of one prompt being decoded, wherever it runs (a static batch of <see cref="DecodeRun"/> or a slot of the
/// continuous batch): its ids so far, its position, its sampler, stop rule and text. The one place that turns a row of
/// logits into the next id and decides whether the sequence is finished, so a sequence decodes by the same rule alone,
/// in a static batch, or in the running batch.
/// </summary>
internal sealed unsafe class DecodeSequence
{
    private readonly OnnxDecoderModel _model;
    private readonly int _maxNewTokens;
    private readonly bool _greedyInPlace;

    public DecodeSequence(OnnxDecoderModel model, IReadOnlyList<int> prompt, GenerationOptions options, TokenSampler sampler, bool streaming)
    {
        _model = model;
        Prompt = prompt;
        Sampler = sampler;
        _maxNewTokens = options.MaxNewTokens;
        StopIds = [.. model.EosTokenIds.Concat(options.StopTokenIds)];
        Text = model.Tokenizer is not null && (streaming || options.StopStrings.Count > 0) ? new TextTracker(model.Tokenizer, options.StopStrings) : null;
        Seen = options.RepetitionPenalty != 1.0 ? [.. prompt] : null;
        _greedyInPlace = options.IsGreedy && options.RepetitionPenalty == 1.0 && model.Graph.LogitsType == TensorElementType.Float;
    }

    public IReadOnlyList<int> Prompt { get; }

    public TokenSampler Sampler { get; }

    public HashSet<int> StopIds { get; }

    public TextTracker? Text { get; }

    public HashSet<int>? Seen { get; }

    public List<int> Generated { get; } = [];

    public GenerationFinishReason? Finish { get; set; }

    /// <summary>Gets or sets the position of the next id fed to the model (the number of positions its cache holds).</summary>
    public int NextPosition { get; set; }

    /// <summary>Gets or sets how many left-padding positions precede the prompt in a static batch.</summary>
    public int Padding { get; set; }

    public int Streamed { get; set; }

    /// <summary>Gets whether choosing needs a float copy of the logits row (sampling, penalty or fp16 logits).</summary>
    public bool NeedsScratch => !_greedyInPlace;

    /// <summary>
    /// Chooses the next id from this sequence's row of logits and applies the stop rules: a stop id, a stop string,
    /// <see cref="GenerationOptions.MaxNewTokens"/>, or no room left once <paramref name="cached"/> positions are cached
    /// out of <paramref name="limit"/>.
    /// </summary>
    public int Choose(nint logitsRow, Span<float> scratch, int cached, int limit)
    {
        var vocabulary = _model.Graph.VocabularySize;
        int id;
        if (_greedyInPlace)
        {
            // Greedy on fp32 logits with nothing to change first: the arg-max reads ONNX Runtime's output where it lies.
            id = TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>((void*)logitsRow, vocabulary));
        }
        else
        {
            var logits = scratch[..vocabulary];
            if (_model.Graph.LogitsType == TensorElementType.Float16)
            {
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((void*)logitsRow, vocabulary), logits);
            }
            else
            {
                new ReadOnlySpan<float>((void*)logitsRow, vocabulary).CopyTo(logits);
            }

            if (Seen is { } seen)
            {
                Sampler.Penalize(logits, seen);
            }

            id = Sampler.Next(logits);
        }

        Generated.Add(id);
        Seen?.Add(id);
        if (StopIds.Contains(id))
        {
            Finish = GenerationFinishReason.EndOfSequence;
        }
        else if (Text is { } text && !_model.SpecialIds.Contains(id) && text.Append(id))
        {
            Finish = GenerationFinishReason.StopString;
        }
        else if (Generated.Count >= _maxNewTokens)
        {
            Finish = GenerationFinishReason.MaxNewTokens;
        }
        else if (cached + 1 >= limit)
        {
            Finish = GenerationFinishReason.ContextLength;
        }

        return id;
    }

    /// <summary>The result so far (<see cref="GenerationFinishReason.MaxNewTokens"/> when not finished).</summary>
    public GenerationResult Result()
    {
        var finish = Finish ?? GenerationFinishReason.MaxNewTokens;
        string? text;
        if (Text is { } tracker)
        {
            tracker.Flush();
            text = tracker.Text;
        }
        else
        {
            // Without stop strings or streaming the text is decoded once, at the end.
            var ids = finish == GenerationFinishReason.EndOfSequence ? Generated.Take(Generated.Count - 1) : Generated;
            text = _model.Tokenizer is null ? null : _model.Decode(ids);
        }

        return new GenerationResult(Prompt, [.. Generated], text, finish);
    }

    /// <summary>The newest id and the text it makes final (all remaining text once finished).</summary>
    public GeneratedToken TakeStreamUpdate()
    {
        var id = Generated.Count > Streamed ? Generated[^1] : -1;
        Streamed = Generated.Count;
        if (Finish is not null)
        {
            Text?.Flush();
        }

        var text = Text?.TakeReady(final: Finish is not null) ?? string.Empty;
        return new GeneratedToken(id, text, Finish);
    }
}
