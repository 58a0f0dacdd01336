using LlmAdapt.Training.Data;

namespace LlmAdapt.Training.FineTuning;

/// <summary>Measures and samples a checkpoint (or an adapter folder, loaded on its base): perplexity, answer loss, text.</summary>
public static class DecoderEvaluator
{
    /// <summary>Scores <paramref name="text"/> in non-overlapping blocks of the model's context (or <paramref name="sequenceLength"/>).</summary>
    /// <param name="model">A checkpoint folder, or a LoRA adapter folder.</param>
    /// <param name="text">The text.</param>
    /// <param name="sequenceLength">Tokens per block; 0 for the model's context.</param>
    /// <param name="startFraction">Scores only the tokens after this fraction of the text (0.9: the validation tail that pre-training held out).</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>The loss and perplexity; with <paramref name="startFraction"/> &gt; 0, also the unigram entropy of the part before.</returns>
    /// <exception cref="InvalidDataFileException">The text is shorter than one block.</exception>
    public static async Task<PerplexityResult> PerplexityAsync(string model, string text, int sequenceLength = 0, double startFraction = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(startFraction);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(startFraction, 1.0);
        var session = await DecoderSession.OpenAsync(model, null, 0, cancellationToken).ConfigureAwait(false);
        var t = sequenceLength > 0 ? Math.Min(sequenceLength, session.Model.ContextLength) : session.Model.ContextLength;
        var all = session.Tokenizer.Encode(text);
        var cut = (int)(all.Length * startFraction);
        var tokens = all[cut..];
        var source = new TokenBlockSource(tokens, 4, Math.Min(t, Math.Max(1, tokens.Length - 1)), "text");
        var trainer = new DecoderTrainer(session.Model, new DecoderTrainingOptions(), 0);
        var loss = trainer.Evaluate(source, int.MaxValue);
        var scored = (tokens.Length - 1) / source.SequenceLength * (long)source.SequenceLength;
        return new PerplexityResult(loss, Math.Exp(loss), scored) { UnigramEntropy = cut > 0 ? ContinuedPretrainingFineTuner.UnigramEntropy(all[..cut]) : null };
    }

    /// <summary>Returns the mean loss on the answer tokens of instruction examples (prompt tokens are not scored).</summary>
    /// <param name="model">A checkpoint folder, or a LoRA adapter folder.</param>
    /// <param name="examples">The examples.</param>
    /// <param name="format">The prompt format, or <see langword="null"/> for Alpaca.</param>
    /// <param name="sequenceLength">Tokens per example; 0 for the model's context.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>The mean answer-token loss in nats.</returns>
    public static async Task<double> AnswerLossAsync(string model, IReadOnlyList<TrainingExample> examples, InstructionPromptFormat? format = null, int sequenceLength = 0, CancellationToken cancellationToken = default)
    {
        var session = await DecoderSession.OpenAsync(model, null, 0, cancellationToken).ConfigureAwait(false);
        var t = sequenceLength > 0 ? Math.Min(sequenceLength, session.Model.ContextLength) : session.Model.ContextLength;
        var source = new ExampleBatchSource(InstructionFineTuner.Render(examples, format ?? InstructionPromptFormat.Alpaca, t, session.Tokenizer), 4, t);
        return new DecoderTrainer(session.Model, new DecoderTrainingOptions(), 0).Evaluate(source, int.MaxValue);
    }

    /// <summary>Continues <paramref name="prompt"/> by sampling (temperature; 0 is greedy).</summary>
    /// <param name="model">A checkpoint folder, or a LoRA adapter folder.</param>
    /// <param name="prompt">The start of the text.</param>
    /// <param name="maxNewTokens">How many tokens to add.</param>
    /// <param name="temperature">Sampling temperature; 0 picks the most likely token.</param>
    /// <param name="seed">The sampling seed.</param>
    /// <param name="cancellationToken">Stops between tokens.</param>
    /// <returns>The prompt and its continuation.</returns>
    public static async Task<string> GenerateAsync(string model, string prompt, int maxNewTokens = 100, double temperature = 0.8, int seed = 42, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var session = await DecoderSession.OpenAsync(model, null, 0, cancellationToken).ConfigureAwait(false);
        var m = session.Model;
        var tokenizer = session.Tokenizer;
        var tokens = new List<int>();
        if (tokenizer.BeginningOfText is { } bos)
        {
            tokens.Add(bos);
        }

        tokens.AddRange(tokenizer.Encode(prompt));
        if (tokens.Count == 0)
        {
            tokens.Add(tokenizer.EndOfText);
        }

        var random = new Random(seed);
        var t = m.ContextLength;
        var window = new int[t];
        var v = m.VocabSize;
        for (var step = 0; step < maxNewTokens; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Causal attention: padding after the last real token does not change its prediction.
            var start = Math.Max(0, tokens.Count - t);
            var count = tokens.Count - start;
            Array.Clear(window);
            tokens.CopyTo(start, window, 0, count);
            m.Forward(window, null, 1, t);
            var probs = m.Probabilities.Span.Slice((count - 1) * v, v);
            tokens.Add(Sample(probs, temperature, random));
        }

        return tokenizer.Decode(tokens.Skip(tokenizer.BeginningOfText is null ? 0 : 1));
    }

    private static int Sample(ReadOnlySpan<float> probs, double temperature, Random random)
    {
        if (temperature <= 0)
        {
            return System.Numerics.Tensors.TensorPrimitives.IndexOfMax(probs);
        }

        var weights = new double[probs.Length];
        var sum = 0.0;
        for (var i = 0; i < probs.Length; i++)
        {
            weights[i] = Math.Pow(Math.Max(probs[i], 1e-30), 1.0 / temperature);
            sum += weights[i];
        }

        var r = random.NextDouble() * sum;
        for (var i = 0; i < weights.Length; i++)
        {
            r -= weights[i];
            if (r <= 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }
}
