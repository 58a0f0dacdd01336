using LlmAdapt.Generation;
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
    /// <exception cref="InvalidDataFileException">The scored part of the text is shorter than two tokens (a shorter text
    /// than one block is scored as one shorter block).</exception>
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
        var loss = DecoderTrainer.Evaluate(session.Model, source, int.MaxValue);
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
        return DecoderTrainer.Evaluate(session.Model, source, int.MaxValue);
    }

    /// <summary>Continues <paramref name="prompt"/> by sampling (temperature; 0 is greedy); stops at end-of-sequence.</summary>
    /// <param name="model">A checkpoint folder, or a LoRA adapter folder.</param>
    /// <param name="prompt">The start of the text.</param>
    /// <param name="maxNewTokens">The most tokens to add.</param>
    /// <param name="temperature">Sampling temperature; 0 picks the most likely token.</param>
    /// <param name="seed">The sampling seed.</param>
    /// <param name="cancellationToken">Stops between tokens.</param>
    /// <returns>The prompt and its continuation.</returns>
    public static async Task<string> GenerateAsync(string model, string prompt, int maxNewTokens = 100, double temperature = 0.8, int seed = 42, CancellationToken cancellationToken = default)
        => (await SampleAsync(model, prompt, maxNewTokens, temperature, seed, cancellationToken: cancellationToken).ConfigureAwait(false)).Text;

    /// <summary>
    /// Continues <paramref name="prompt"/> with the engine's model and a key/value cache, drawing each token with the
    /// rule ONNX decoding uses (temperature, top-k, top-p, seed), until an end-of-sequence token (the tokenizer's
    /// end-of-text or any <c>eos_token_id</c> of config.json) or <paramref name="maxNewTokens"/>.
    /// </summary>
    /// <param name="model">A checkpoint folder, or a LoRA adapter folder.</param>
    /// <param name="prompt">The start of the text (may be empty: the model starts from its end-of-text token).</param>
    /// <param name="maxNewTokens">The most tokens to add; at least 1.</param>
    /// <param name="temperature">Sampling temperature, 0 to 100; 0 picks the most likely token.</param>
    /// <param name="seed">The sampling seed.</param>
    /// <param name="topK">How many of the most likely tokens sampling keeps; 0 keeps all.</param>
    /// <param name="topP">The nucleus, above 0 and at most 1; 1 keeps all.</param>
    /// <param name="cancellationToken">Stops between tokens.</param>
    /// <returns>The text, the number of tokens generated and whether end-of-sequence stopped the run.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A sampling setting is out of range.</exception>
    public static async Task<DecoderSample> SampleAsync(string model, string prompt, int maxNewTokens = 100, double temperature = 0.8, int seed = 42, int topK = 0, double topP = 1.0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(temperature);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(temperature, 100.0);
        ArgumentOutOfRangeException.ThrowIfNegative(topK);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(topP);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(topP, 1.0);
        var session = await DecoderSession.OpenAsync(model, null, 0, cancellationToken).ConfigureAwait(false);
        var tokenizer = session.Tokenizer;
        var tokens = new List<int>();
        if (tokenizer.BeginningOfText is { } bos)
        {
            tokens.Add(bos);
        }

        tokens.AddRange(tokenizer.Encode(prompt));

        // The start token (beginning of text, or end of text for an empty prompt without one) is not part of Text.
        var start = tokenizer.BeginningOfText is null ? 0 : 1;
        if (tokens.Count == 0)
        {
            tokens.Add(tokenizer.EndOfText);
            start = 1;
        }

        var stops = new HashSet<int>(session.Config?.EosTokenIds ?? []) { tokenizer.EndOfText };
        var sampler = new TokenSampler(temperature, topK, topP, 1.0, seed, session.Model.VocabSize);
        var (generated, endOfSequence) = DecoderSampler.Generate(session.Model, tokens, maxNewTokens, sampler, stops, cancellationToken);
        var text = tokens.Skip(start).Concat(endOfSequence ? generated.SkipLast(1) : generated);
        return new DecoderSample(tokenizer.Decode(text), generated.Count, endOfSequence);
    }
}
