using LlmAdapt.Training.Data;

namespace LlmAdapt.Training.FineTuning;

/// <summary>
/// Continued pre-training (or pre-training from scratch) by next-token prediction on plain text: each example's
/// <see cref="TrainingExample.Input"/> is tokenized with the model's tokenizer (GPT-2's for a new model, the checkpoint's
/// own <c>tokenizer.json</c> otherwise), the texts are joined with its end-of-text token, each token's loss is weighted
/// by its example's <see cref="TrainingExample.Weight"/>, and without a validation set the last <see cref="DecoderTrainingOptions.ValidationFraction"/>
/// of the tokens is held out. Full fine-tuning, or LoRA when <see cref="DecoderTrainingOptions.Lora"/> is set.
/// </summary>
public sealed class ContinuedPretrainingFineTuner : IFineTuner
{
    private readonly DecoderTrainingOptions _options;

    /// <summary>Initializes a new instance; the options are validated here.</summary>
    /// <param name="options">The training options.</param>
    /// <exception cref="InvalidOptionsException">An option is invalid (every problem is listed).</exception>
    /// <exception cref="ArgumentException">The new model's shape is invalid.</exception>
    public ContinuedPretrainingFineTuner(DecoderTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <inheritdoc />
    public string Name => "continued-pretraining";

    /// <inheritdoc />
    public async Task<FineTunedArtifact> FineTuneAsync(FineTuningRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var origin = request.TrainingSet.FirstOrDefault()?.Origin ?? "training set";
        var session = await DecoderSession.OpenAsync(request.BaseModel, _options.NewModel, request.Seed, cancellationToken).ConfigureAwait(false);
        if (_options.SequenceLength > session.Model.ContextLength)
        {
            throw new ArgumentException($"Sequence length {_options.SequenceLength} is longer than the model's context of {session.Model.ContextLength}.");
        }

        var (tokens, weights) = Tokenize(request.TrainingSet, session.Tokenizer);
        int[] train, validation;
        float[]? trainWeights, validationWeights;
        if (request.ValidationSet is { Count: > 0 } held)
        {
            (train, trainWeights) = (tokens, weights);
            (validation, validationWeights) = Tokenize(held, session.Tokenizer);
        }
        else
        {
            var cut = (int)(tokens.Length * (1 - _options.ValidationFraction));
            (train, trainWeights) = (tokens[..cut], weights?[..cut]);
            (validation, validationWeights) = (tokens[cut..], weights?[cut..]);
        }

        var trainSource = new TokenBlockSource(train, _options.BatchSize, _options.SequenceLength, origin + " (training part)", trainWeights);
        var validationSource = new TokenBlockSource(validation, _options.BatchSize, _options.SequenceLength, origin + " (validation part)", validationWeights);
        var artifact = await session.TrainAsync(_options, trainSource, validationSource, request, progress, cancellationToken).ConfigureAwait(false);
        var metrics = new Dictionary<string, double>(artifact.Report.Metrics)
        {
            ["unigram_entropy"] = UnigramEntropy(train),
            ["training_tokens"] = train.Length,
            ["validation_tokens"] = validation.Length,
        };
        return artifact with { Report = artifact.Report with { Metrics = metrics } };
    }

    /// <summary>Returns the entropy, in nats, of the tokens' frequencies: the loss of the best model that ignores context.</summary>
    /// <param name="tokens">The token ids.</param>
    /// <returns>The entropy.</returns>
    internal static double UnigramEntropy(IReadOnlyCollection<int> tokens)
    {
        var counts = new Dictionary<int, int>();
        foreach (var t in tokens)
        {
            counts[t] = counts.GetValueOrDefault(t) + 1;
        }

        double n = tokens.Count;
        return -counts.Values.Sum(c => c / n * Math.Log(c / n));
    }

    /// <summary>
    /// Joins the examples' tokens with the end-of-text token (and the tokenizer's beginning-of-text token, when it asks
    /// for one); each token carries its example's <see cref="TrainingExample.Weight"/> as the weight of predicting it,
    /// or no weights at all when every weight is 1.
    /// </summary>
    internal static (int[] Tokens, float[]? Weights) Tokenize(IReadOnlyList<TrainingExample> examples, DecoderTokenizer tokenizer)
    {
        var tokens = new List<int>();
        var weights = new List<float>();
        foreach (var example in examples)
        {
            InstructionFineTuner.CheckWeight(example);
            if (tokens.Count > 0)
            {
                tokens.Add(tokenizer.EndOfText);
                weights.Add((float)example.Weight);
            }

            if (tokenizer.BeginningOfText is { } bos)
            {
                tokens.Add(bos);
                weights.Add((float)example.Weight);
            }

            var ids = tokenizer.Encode(example.Input);
            tokens.AddRange(ids);
            weights.AddRange(Enumerable.Repeat((float)example.Weight, ids.Length));
        }

        return ([.. tokens], weights.All(w => w == 1f) ? null : [.. weights]);
    }
}
