using LlmAdapt.Training.Data;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.FineTuning;

/// <summary>
/// Instruction tuning (supervised fine-tuning): each example is rendered with an <see cref="InstructionPromptFormat"/>,
/// and the loss falls on the answer tokens only (and the end-of-text token after each answer), each example's scaled by
/// its <see cref="TrainingExample.Weight"/> (the loss is Σ wᵢ·lossᵢ / Σ wᵢ over answer tokens, so weight 2 counts an
/// example as if it appeared twice). Text is tokenized with the model's own tokenizer. Full fine-tuning, or
/// LoRA when <see cref="DecoderTrainingOptions.Lora"/> is set. The report's metrics include the validation answer loss
/// before training (<c>validation_loss_before</c>), on the same first <see cref="DecoderTrainingOptions.EvaluationBatches"/>
/// batches the run's validation scores, so the gain is visible.
/// </summary>
public sealed class InstructionFineTuner : IFineTuner
{
    private readonly DecoderTrainingOptions _options;
    private readonly InstructionPromptFormat _format;

    /// <summary>Initializes a new instance; the options are validated here.</summary>
    /// <param name="options">The training options.</param>
    /// <param name="format">The prompt format, or <see langword="null"/> for <see cref="InstructionPromptFormat.Alpaca"/>.</param>
    /// <exception cref="InvalidOptionsException">An option is invalid (every problem is listed).</exception>
    /// <exception cref="ArgumentException">The format's <see cref="InstructionPromptFormat.MaxPromptTokens"/> is not positive, or the new model's shape is invalid.</exception>
    public InstructionFineTuner(DecoderTrainingOptions options, InstructionPromptFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (format?.MaxPromptTokens is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(format), format.MaxPromptTokens, "MaxPromptTokens must be positive (or null to keep prompts whole).");
        }

        _options = options;
        _format = format ?? InstructionPromptFormat.Alpaca;
    }

    /// <inheritdoc />
    public string Name => "instruction-tuning";

    /// <inheritdoc />
    public async Task<FineTunedArtifact> FineTuneAsync(FineTuningRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.TrainingSet.Count == 0)
        {
            throw new ArgumentException("The training set is empty.", nameof(request));
        }

        var all = request.TrainingSet;
        IReadOnlyList<TrainingExample> train = all, validation;
        if (request.ValidationSet is { Count: > 0 } held)
        {
            validation = held;
        }
        else
        {
            var count = Math.Max(1, (int)(all.Count * _options.ValidationFraction));
            train = all.Take(all.Count - count).ToList();
            validation = all.Skip(all.Count - count).ToList();
        }

        var session = await DecoderSession.OpenAsync(request.BaseModel, _options.NewModel, request.Seed, cancellationToken).ConfigureAwait(false);
        var t = Math.Min(_options.SequenceLength, session.Model.ContextLength);
        var trainSource = new ExampleBatchSource(Render(train, _format, t, session.Tokenizer), _options.BatchSize, t, request.Seed);
        var validationSource = new ExampleBatchSource(Render(validation, _format, t, session.Tokenizer), _options.BatchSize, t);
        var before = new DecoderTrainer(session.Model, _options, request.Seed).Evaluate(validationSource, _options.EvaluationBatches);
        var artifact = await session.TrainAsync(_options, trainSource, validationSource, request, progress, cancellationToken).ConfigureAwait(false);
        var metrics = new Dictionary<string, double>(artifact.Report.Metrics) { ["validation_loss_before"] = before };
        return artifact with { Report = artifact.Report with { Metrics = metrics } };
    }

    /// <summary>Renders and tokenizes examples, keeping those with at least one answer token inside the sequence.</summary>
    internal static List<TokenizedExample> Render(IReadOnlyList<TrainingExample> examples, InstructionPromptFormat format, int sequenceLength, DecoderTokenizer tokenizer)
    {
        var result = new List<TokenizedExample>();
        foreach (var example in examples)
        {
            var rendered = Render(example, format, tokenizer);
            var n = Math.Min(rendered.Tokens.Length, sequenceLength + 1);
            if (rendered.LossMask.AsSpan(1, n - 1).Contains(true))
            {
                result.Add(rendered with { Tokens = rendered.Tokens[..n], LossMask = rendered.LossMask[..n] });
            }
        }

        return result;
    }

    /// <summary>Throws when an example's weight is not a positive finite number, naming where it came from.</summary>
    internal static void CheckWeight(TrainingExample example)
    {
        if (!(example.Weight > 0) || !double.IsFinite(example.Weight))
        {
            throw new InvalidDataFileException(example.Origin ?? "training set", 0, $"an example has weight {example.Weight}; weights must be positive and finite.");
        }
    }

    internal static TokenizedExample Render(TrainingExample example, InstructionPromptFormat format, DecoderTokenizer tokenizer)
    {
        CheckWeight(example);
        var tokens = new List<int>();
        var mask = new List<bool>();
        if (tokenizer.BeginningOfText is { } bos)
        {
            tokens.Add(bos);
            mask.Add(false);
        }

        void Add(string text, bool learn)
        {
            var ids = tokenizer.Encode(text);
            tokens.AddRange(ids);
            mask.AddRange(Enumerable.Repeat(learn, ids.Length));
        }

        if (example.Messages is { Count: > 0 } messages)
        {
            foreach (var message in messages)
            {
                var assistant = message.Role == ChatRole.Assistant;
                Add(format.RenderTurn(char.ToUpperInvariant(message.Role.Value[0]) + message.Role.Value[1..]), false);
                Add(message.Text, assistant);
                if (assistant)
                {
                    tokens.Add(tokenizer.EndOfText);
                    mask.Add(true);
                }

                Add("\n\n", false);
            }
        }
        else
        {
            if (example.Output is null)
            {
                throw new InvalidDataFileException(example.Origin ?? "training set", 0, "an instruction example has no Output (answer) to learn.");
            }

            var prompt = tokenizer.Encode(format.RenderPrompt(example.Input));
            if (format.MaxPromptTokens is { } max && prompt.Length > max)
            {
                prompt = prompt[^max..];
            }

            tokens.AddRange(prompt);
            mask.AddRange(Enumerable.Repeat(false, prompt.Length));
            Add(example.Output, true);
            tokens.Add(tokenizer.EndOfText);
            mask.Add(true);
        }

        return new TokenizedExample([.. tokens], [.. mask], (float)example.Weight);
    }
}
