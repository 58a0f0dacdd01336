using LlmAdapt.Training.Data;

namespace LlmAdapt.Training.FineTuning;

/// <summary>
/// Continued pre-training (or pre-training from scratch) by next-token prediction on plain text: each example's
/// <see cref="TrainingExample.Input"/> is tokenized with GPT-2's tokenizer, the texts are joined with
/// <c>&lt;|endoftext|&gt;</c>, and without a validation set the last <see cref="DecoderTrainingOptions.ValidationFraction"/>
/// of the tokens is held out. Full fine-tuning, or LoRA when <see cref="DecoderTrainingOptions.Lora"/> is set.
/// </summary>
public sealed class ContinuedPretrainingFineTuner : IFineTuner
{
    private readonly DecoderTrainingOptions _options;

    /// <summary>Initializes a new instance; the options are validated here.</summary>
    /// <param name="options">The training options.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
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
        var tokens = Tokenize(request.TrainingSet);
        int[] train, validation;
        if (request.ValidationSet is { Count: > 0 } held)
        {
            train = tokens;
            validation = Tokenize(held);
        }
        else
        {
            var cut = (int)(tokens.Length * (1 - _options.ValidationFraction));
            train = tokens[..cut];
            validation = tokens[cut..];
        }

        var session = await DecoderSession.OpenAsync(request.BaseModel, _options.NewModel, request.Seed, cancellationToken).ConfigureAwait(false);
        if (_options.SequenceLength > session.Model.ContextLength)
        {
            throw new ArgumentException($"Sequence length {_options.SequenceLength} is longer than the model's context of {session.Model.ContextLength}.");
        }

        var trainSource = new TokenBlockSource(train, _options.BatchSize, _options.SequenceLength, origin + " (training part)");
        var validationSource = new TokenBlockSource(validation, _options.BatchSize, _options.SequenceLength, origin + " (validation part)");
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

    internal static int[] Tokenize(IReadOnlyList<TrainingExample> examples)
    {
        var tokens = new List<int>();
        foreach (var example in examples)
        {
            if (tokens.Count > 0)
            {
                tokens.Add(DecoderSession.EndOfText);
            }

            tokens.AddRange(DecoderSession.Encode(example.Input));
        }

        return [.. tokens];
    }
}
