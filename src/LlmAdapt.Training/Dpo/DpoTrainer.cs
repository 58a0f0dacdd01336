using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using LlmAdapt.Formats;
using LlmAdapt.Preference;
using LlmAdapt.Training.FineTuning;

namespace LlmAdapt.Training.Dpo;

/// <summary>
/// Tunes a decoder checkpoint (GPT-2 or Llama, on the CPU engine) directly on preference pairs with DPO, IPO, robust
/// DPO or the hinge loss (<see cref="DpoOptions.Loss"/>). The loss falls on the summed log-probabilities of the
/// response tokens only (prompt tokens are masked). With LoRA (the default) the policy is the base plus an adapter and
/// the reference is the same base with the adapter switched off, so one copy of the base weights is held; with full
/// fine-tuning the reference is the model as loaded, scored before the first step. Either way the reference
/// log-probabilities are computed once per pair before training, in batches with progress, and kept in
/// <c>reference_logps.safetensors</c> in the output folder, where a resumed run reads them back.
/// Writes a PEFT adapter folder (or a checkpoint) loadable wherever an <c>sft</c> output is, plus <c>dpo_config.json</c>;
/// the report carries TRL's metrics (<c>rewards/accuracies</c>, <c>rewards/margins</c>, …, validation ones prefixed
/// <c>eval_</c>), each step's in <see cref="TrainingProgress.Metrics"/>, and <c>pairwise_accuracy</c> on the validation pairs.
/// </summary>
public sealed class DpoTrainer : IPreferenceTrainer
{
    /// <summary>The name the trainer registers under.</summary>
    public const string TrainerName = "dpo";

    /// <summary>The file beside the adapter that records how it was tuned (loss, β, lengths, reference).</summary>
    public const string ConfigFileName = "dpo_config.json";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Initializes the trainer; the options are validated here.</summary>
    /// <param name="options">The settings, or <see langword="null"/> for the defaults.</param>
    /// <exception cref="InvalidOptionsException">An option is out of range; every problem is listed.</exception>
    public DpoTrainer(DpoOptions? options = null)
    {
        Options = options ?? new DpoOptions();
        Options.Validate();
    }

    /// <inheritdoc />
    public string Name => TrainerName;

    /// <summary>Gets the settings.</summary>
    public DpoOptions Options { get; }

    /// <inheritdoc />
    public Task<FineTunedArtifact> TrainAsync(PreferenceTrainingRequest request, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => TrainAsync(request, progress, null, cancellationToken);

    /// <summary>Tunes <see cref="PreferenceTrainingRequest.BaseModel"/> on the pairs, reporting reference scoring too.</summary>
    /// <param name="request">The pairs, the base checkpoint (or adapter folder, which is trained further or resumed) and the output folder.</param>
    /// <param name="progress">Receives a report after every step, with TRL's metrics.</param>
    /// <param name="referenceProgress">Receives progress while the reference log-probabilities are computed.</param>
    /// <param name="cancellationToken">Stops scoring or training; a checkpoint is written when training is stopped.</param>
    /// <returns>The adapter folder (or checkpoint) written, with the report.</returns>
    /// <exception cref="ArgumentException">There are no training pairs, no base model, or too few pairs to hold some out.</exception>
    /// <exception cref="InvalidDataFileException">A pair is invalid (an empty response, chosen equal to rejected); its origin is named.</exception>
    /// <exception cref="ModelLoadException">The base is not a decoder checkpoint the engine trains.</exception>
    public async Task<FineTunedArtifact> TrainAsync(PreferenceTrainingRequest request, IProgress<TrainingProgress>? progress, IProgress<ReferenceScoringProgress>? referenceProgress, CancellationToken cancellationToken = default)
    {
        // Everything is checked before anything is written to the output folder.
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.OutputPath);
        if (string.IsNullOrWhiteSpace(request.BaseModel))
        {
            throw new ArgumentException("DPO tunes a model: give the base checkpoint (or adapter folder) in BaseModel.", nameof(request));
        }

        if (request.TrainingPairs is null || request.TrainingPairs.Count == 0)
        {
            throw new ArgumentException("There are no training pairs.", nameof(request));
        }

        foreach (var pair in request.TrainingPairs.Concat(request.ValidationPairs ?? []))
        {
            PreferenceLimits.Default.Validate(pair);
        }

        var training = Options.Training;
        IReadOnlyList<PreferencePair> train = request.TrainingPairs, validation;
        if (request.ValidationPairs is { Count: > 0 } given)
        {
            validation = given;
        }
        else
        {
            if (train.Count < 2)
            {
                throw new ArgumentException("One training pair and no validation pairs: give validation pairs, or at least two pairs to hold some out.", nameof(request));
            }

            var held = Math.Max(1, (int)(train.Count * training.ValidationFraction));
            validation = train.Skip(train.Count - held).ToList();
            train = train.Take(train.Count - held).ToList();
        }

        var output = Path.GetFullPath(request.OutputPath);
        var session = await DecoderSession.OpenAsync(request.BaseModel, null, request.Seed, cancellationToken).ConfigureAwait(false);
        session.AttachLora(training, request.Seed);
        var model = session.Model;
        model.Threads = training.Threads;
        model.FrozenPackLimitBytes = (long)training.FrozenWeightPackMegabytes << 20;
        var lora = model.Lora is not null;
        var tokenized = DpoPairs.Tokenize([.. train, .. validation], Options, session.Tokenizer, model.ContextLength);
        var t = tokenized.SequenceLength;
        var trainPairs = tokenized.Pairs.Take(train.Count).ToList();
        var validationPairs = tokenized.Pairs.Skip(train.Count).ToList();

        // The reference: a LoRA run's base without the adapter can always be scored again; a full run's starting
        // weights only before the first step, so resuming one needs the cache.
        var fingerprint = tokenized.Fingerprint();
        var weights = lora ? Convert.ToHexStringLower(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(model.Parameters.Span))) : null;
        (ReferenceLogProbs, ReferenceLogProbs)? cached = null;
        if (training.Resume)
        {
            foreach (var folder in new[] { session.Source, output }.OfType<string>())
            {
                cached ??= ReferenceLogProbs.TryRead(folder, fingerprint, weights, train.Count, validation.Count);
            }
        }
        else if (lora)
        {
            cached = ReferenceLogProbs.TryRead(output, fingerprint, weights, train.Count, validation.Count);
        }

        var scored = 0;
        ReferenceLogProbs trainReference, validationReference;
        if (cached is { } found)
        {
            (trainReference, validationReference) = found;
        }
        else
        {
            if (training.Resume && !lora)
            {
                throw new ModelLoadException(Path.Combine(session.Source ?? output, ReferenceLogProbs.FileName), "resuming a full fine-tuning DPO run needs the reference log-probabilities of its first run, and they are missing or were made for other pairs.", null);
            }

            var all = ReferenceLogProbs.Compute(model, tokenized.Pairs, Options.ReferenceBatchSize, t, referenceProgress, cancellationToken);
            scored = 2 * tokenized.Pairs.Count;
            trainReference = new ReferenceLogProbs(all.Chosen[..train.Count], all.Rejected[..train.Count]);
            validationReference = new ReferenceLogProbs(all.Chosen[train.Count..], all.Rejected[train.Count..]);
        }

        await ReferenceLogProbs.WriteAsync(output, fingerprint, trainReference, validationReference, weights ?? "initial-weights", cancellationToken).ConfigureAwait(false);
        var loss = new DpoLoss(Options.Loss, Options.Beta, Options.LabelSmoothing);
        var objective = new DpoObjective(model, loss, trainPairs, trainReference, validationPairs, validationReference, training, t, request.Seed);
        var artifact = await session.TrainAsync(training, _ => objective, output, request.Seed, progress, cancellationToken).ConfigureAwait(false);
        await WriteConfigAsync(output, new DpoRunConfig
        {
            Loss = Options.Loss.ToString().ToLowerInvariant(),
            Beta = Options.Beta,
            LabelSmoothing = Options.LabelSmoothing,
            MaxPromptTokens = Options.MaxPromptTokens,
            MaxResponseTokens = Options.MaxResponseTokens,
            Reference = lora ? "base-without-adapter" : "initial-weights",
            BaseModel = session.BasePath,
        }, cancellationToken).ConfigureAwait(false);

        var metrics = new Dictionary<string, double>(artifact.Report.Metrics)
        {
            ["pairs"] = train.Count,
            ["validation_pairs"] = validation.Count,
            ["sequence_length"] = t,
            ["truncated_prompts"] = tokenized.TruncatedPrompts,
            ["truncated_responses"] = tokenized.TruncatedResponses,
            ["identical_after_truncation"] = tokenized.IdenticalAfterTruncation,
            ["reference_sequences_scored"] = scored,
            ["reference_without_adapter"] = lora ? 1 : 0,
            ["beta"] = Options.Beta,
        };
        var history = artifact.Report.History;
        var recent = history.Skip(Math.Max(0, history.Count - training.EvaluationInterval)).Where(h => h.Metrics is not null).ToList();
        foreach (var name in recent.SelectMany(h => h.Metrics!.Keys).Where(k => !k.StartsWith("eval_", StringComparison.Ordinal)).Distinct())
        {
            metrics[name] = recent.Where(h => h.Metrics!.ContainsKey(name)).Average(h => h.Metrics![name]);
        }

        if (history.LastOrDefault(h => h.Metrics?.ContainsKey("eval_loss") == true)?.Metrics is { } last)
        {
            foreach (var (name, value) in last.Where(kv => kv.Key.StartsWith("eval_", StringComparison.Ordinal)))
            {
                metrics[name] = value;
            }

            metrics["pairwise_accuracy"] = last["eval_rewards/accuracies"];
        }

        return artifact with { Report = artifact.Report with { Metrics = metrics } };
    }

    /// <summary>
    /// Measures a tuned model against its reference on pairs: TRL's implicit rewards β·(log πθ − log πref) of each
    /// response, the share of pairs whose chosen response earns the larger reward, and the margins.
    /// </summary>
    /// <param name="model">A DPO output: an adapter folder (its reference is the base without the adapter), or a checkpoint with <paramref name="reference"/>.</param>
    /// <param name="pairs">Held-out pairs.</param>
    /// <param name="reference">The reference checkpoint, for a full checkpoint; <see langword="null"/> for an adapter folder.</param>
    /// <param name="options">Loss, β and lengths; <see langword="null"/> reads them from the model's <c>dpo_config.json</c>, else the defaults.</param>
    /// <param name="progress">Receives progress while pairs are scored (policy, then reference).</param>
    /// <param name="cancellationToken">Stops scoring.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="ArgumentException">There are no pairs, or a full checkpoint came without a reference.</exception>
    /// <exception cref="InvalidDataFileException">A pair is invalid; its origin is named.</exception>
    /// <exception cref="ModelLoadException">A folder is not a decoder checkpoint or adapter.</exception>
    public static async Task<DpoEvaluation> EvaluateAsync(string model, IReadOnlyList<PreferencePair> pairs, string? reference = null, DpoOptions? options = null, IProgress<ReferenceScoringProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0)
        {
            throw new ArgumentException("There are no pairs to evaluate.", nameof(pairs));
        }

        foreach (var pair in pairs)
        {
            PreferenceLimits.Default.Validate(pair);
        }

        if (options is null)
        {
            options = new DpoOptions();
            if (await ReadConfigAsync(model, cancellationToken).ConfigureAwait(false) is { } saved)
            {
                options.Beta = saved.Beta;
                options.LabelSmoothing = saved.LabelSmoothing;
                options.MaxPromptTokens = saved.MaxPromptTokens;
                options.MaxResponseTokens = saved.MaxResponseTokens;
                options.Loss = Enum.Parse<DpoLossType>(saved.Loss, ignoreCase: true);
            }
        }

        options.Validate();
        var policy = await DecoderSession.OpenAsync(model, null, 0, cancellationToken).ConfigureAwait(false);
        if (reference is null && policy.Model.Lora is null)
        {
            throw new ArgumentException($"{model} is a full checkpoint: give the reference checkpoint it was tuned from.", nameof(reference));
        }

        var tokenized = DpoPairs.Tokenize(pairs, options, policy.Tokenizer, policy.Model.ContextLength);
        var t = tokenized.SequenceLength;
        var scored = ReferenceLogProbs.Compute(policy.Model, tokenized.Pairs, options.ReferenceBatchSize, t, null, cancellationToken, adaptersOff: false);
        var referenceModel = reference is null ? policy.Model : (await DecoderSession.OpenAsync(reference, null, 0, cancellationToken).ConfigureAwait(false)).Model;
        var baseline = ReferenceLogProbs.Compute(referenceModel, tokenized.Pairs, options.ReferenceBatchSize, t, progress, cancellationToken);
        var loss = new DpoLoss(options.Loss, options.Beta, options.LabelSmoothing);
        var metrics = new DpoMetrics();
        for (var i = 0; i < pairs.Count; i++)
        {
            var p = tokenized.Pairs[i];
            var (l, _, _, rc, rr) = loss.Evaluate(scored.Chosen[i], scored.Rejected[i], baseline.Chosen[i], baseline.Rejected[i], p.Chosen.Length, p.Rejected.Length);
            metrics.Add(l, rc, rr, scored.Chosen[i], scored.Rejected[i]);
        }

        return new DpoEvaluation
        {
            Pairs = metrics.Count,
            Beta = options.Beta,
            Loss = metrics.Loss,
            Accuracy = metrics.Accuracy,
            RewardsChosen = metrics.RewardChosen,
            RewardsRejected = metrics.RewardRejected,
            Margin = metrics.RewardChosen - metrics.RewardRejected,
            LogpsChosen = metrics.LogpChosen,
            LogpsRejected = metrics.LogpRejected,
            TruncatedPrompts = tokenized.TruncatedPrompts,
            TruncatedResponses = tokenized.TruncatedResponses,
        };
    }

    private static async Task WriteConfigAsync(string folder, DpoRunConfig config, CancellationToken cancellationToken)
        => await AtomicFile.WriteAllTextAsync(Path.Combine(folder, ConfigFileName), JsonSerializer.Serialize(config, s_json), cancellationToken).ConfigureAwait(false);

    private static async Task<DpoRunConfig?> ReadConfigAsync(string folder, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, ConfigFileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<DpoRunConfig>(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), s_json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataFileException(path, 0, ex.Message);
        }
    }

    private sealed record DpoRunConfig
    {
        [JsonPropertyName("loss_type")]
        public string Loss { get; init; } = "sigmoid";

        [JsonPropertyName("beta")]
        public double Beta { get; init; }

        [JsonPropertyName("label_smoothing")]
        public double LabelSmoothing { get; init; }

        [JsonPropertyName("max_prompt_length")]
        public int MaxPromptTokens { get; init; }

        [JsonPropertyName("max_completion_length")]
        public int MaxResponseTokens { get; init; }

        [JsonPropertyName("reference")]
        public string Reference { get; init; } = string.Empty;

        [JsonPropertyName("base_model_name_or_path")]
        public string? BaseModel { get; init; }
    }
}

/// <summary>A tuned model measured against its reference on preference pairs (TRL's implicit-reward metrics).</summary>
public sealed record DpoEvaluation
{
    /// <summary>Gets the number of pairs measured.</summary>
    public int Pairs { get; init; }

    /// <summary>Gets the β the rewards are scaled by.</summary>
    public double Beta { get; init; }

    /// <summary>Gets the mean loss of the pairs.</summary>
    public double Loss { get; init; }

    /// <summary>Gets the share of pairs whose chosen response has the larger implicit reward (<c>rewards/accuracies</c>; a tie is not a win).</summary>
    public double Accuracy { get; init; }

    /// <summary>Gets the mean implicit reward of the chosen responses (<c>rewards/chosen</c>).</summary>
    public double RewardsChosen { get; init; }

    /// <summary>Gets the mean implicit reward of the rejected responses (<c>rewards/rejected</c>).</summary>
    public double RewardsRejected { get; init; }

    /// <summary>Gets the mean reward margin, chosen minus rejected (<c>rewards/margins</c>).</summary>
    public double Margin { get; init; }

    /// <summary>Gets the mean summed log-probability of the chosen responses under the tuned model (<c>logps/chosen</c>).</summary>
    public double LogpsChosen { get; init; }

    /// <summary>Gets the mean summed log-probability of the rejected responses under the tuned model (<c>logps/rejected</c>).</summary>
    public double LogpsRejected { get; init; }

    /// <summary>Gets how many prompts were cut to fit.</summary>
    public int TruncatedPrompts { get; init; }

    /// <summary>Gets how many responses were cut to fit.</summary>
    public int TruncatedResponses { get; init; }
}
