using LlmAdapt.Generation;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.FineTuning;

/// <summary>
/// Continues a sequence with the engine's own model: the prompt runs once through <see cref="DecoderModel{T}.DecodeStep"/>
/// filling the key/value cache, then each new token costs one position; the next id comes from the shared
/// <see cref="TokenSampler"/> (the rule ONNX decoding uses) and an end-of-sequence id stops the sequence.
/// </summary>
internal static class DecoderSampler
{
    /// <summary>
    /// Generates up to <paramref name="maxNewTokens"/> ids after <paramref name="prompt"/>. Once the sequence is longer
    /// than the context, each step rebuilds the cache from the last context-length tokens (a sliding window).
    /// </summary>
    /// <returns>The generated ids (an end-of-sequence id that stopped the run included) and whether one did.</returns>
    public static (List<int> Generated, bool EndOfSequence) Generate(DecoderModel<float> model, IReadOnlyList<int> prompt, int maxNewTokens, TokenSampler sampler, IReadOnlySet<int> stops, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(prompt.Count, nameof(prompt));
        var training = model.Training;
        model.Training = false;
        try
        {
            var t = model.ContextLength;
            var cache = model.CreateCache();
            var tokens = new List<int>(prompt);
            var generated = new List<int>();
            var row = new float[model.VocabSize];
            var cached = 0;
            for (var step = 0; step < maxNewTokens; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var start = Math.Max(0, tokens.Count - t);
                if (start > 0)
                {
                    cached = 0;
                }

                ReadOnlySpan<float> logits = default;
                for (var i = start + cached; i < tokens.Count; i++)
                {
                    logits = model.DecodeStep(tokens[i], i - start, cache);
                }

                cached = tokens.Count - start;
                logits.CopyTo(row);
                var next = sampler.Next(row);
                generated.Add(next);
                tokens.Add(next);
                if (stops.Contains(next))
                {
                    return (generated, true);
                }
            }

            return (generated, false);
        }
        finally
        {
            model.Training = training;
        }
    }
}
