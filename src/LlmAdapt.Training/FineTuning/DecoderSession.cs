using LlmAdapt.Formats;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.FineTuning;

/// <summary>A model being trained or evaluated, with its tokenizer and where it came from.</summary>
internal sealed class DecoderSession
{
    private const string OptimizerFile = "optimizer.safetensors";

    private DecoderSession(DecoderModel<float> model, DecoderTokenizer tokenizer, string? source, string? basePath, HuggingFaceModelConfig? config)
    {
        Model = model;
        Tokenizer = tokenizer;
        Source = source;
        BasePath = basePath;
        Config = config;
    }

    public DecoderModel<float> Model { get; }

    public DecoderTokenizer Tokenizer { get; }

    /// <summary>Gets the folder the session was opened from (a checkpoint or an adapter folder), or null for a new model.</summary>
    public string? Source { get; }

    /// <summary>Gets the checkpoint folder holding the base weights, or null for a new model.</summary>
    public string? BasePath { get; }

    /// <summary>Gets the base checkpoint's config.json (kept, with its extra keys, when a full checkpoint is written), or null.</summary>
    public HuggingFaceModelConfig? Config { get; }

    /// <summary>Loads a checkpoint folder (or an adapter folder on its base), or creates a model from scratch.</summary>
    public static async Task<DecoderSession> OpenAsync(string? baseModel, DecoderConfig? newModel, int seed, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(baseModel))
        {
            var created = (newModel ?? throw new ArgumentException("Give a base model folder or the shape of a new model (DecoderTrainingOptions.NewModel).")).CreateModel();
            created.InitializeRandom(seed);
            return new DecoderSession(created, DecoderTokenizer.Gpt2, null, null, null);
        }

        var full = Path.GetFullPath(baseModel);
        if (!Directory.Exists(full))
        {
            throw new ModelLoadException(full, "no such checkpoint folder.", null);
        }

        // An adapter folder names its base (relative to the adapter folder); load the base, then the adapter on top.
        var adapter = PeftAdapterFolder.IsAdapterFolder(full);
        var basePath = adapter ? await PeftAdapterFolder.ResolveBaseAsync(full, cancellationToken).ConfigureAwait(false) : full;

        var config = await DecoderCheckpoint.ReadConfigAsync(basePath, cancellationToken).ConfigureAwait(false);
        var model = await DecoderCheckpoint.LoadAsync(basePath, cancellationToken).ConfigureAwait(false);
        var tokenizer = DecoderTokenizer.Load(basePath, config);
        if (adapter)
        {
            await LoraAdapterFile.LoadAsync(model, full, cancellationToken).ConfigureAwait(false);
        }

        return new DecoderSession(model, tokenizer, full, basePath, config);
    }

    /// <summary>Writes the whole model as a checkpoint folder: config.json, model.safetensors and the tokenizer files.</summary>
    public async Task SaveCheckpointAsync(string output, CancellationToken cancellationToken)
    {
        var config = Config is { } original
            ? original with { TorchDtype = "float32" }
            : Model.ToHuggingFace() with { BosTokenId = Tokenizer.EndOfText, EosTokenId = Tokenizer.EndOfText };
        await DecoderCheckpoint.SaveAsync(Model, output, cancellationToken, config).ConfigureAwait(false);

        // The weights are in place: the tokenizer files follow, cancelled or not, so the folder stays whole.
        await Tokenizer.SaveAsync(output, Model.ContextLength, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Builds the checkpoint writer the trainer calls: the adapter alone under LoRA, else the whole model.</summary>
    public Func<int, CancellationToken, Task> CheckpointWriter(string output, DecoderTrainer trainer) => async (step, ct) =>
    {
        Directory.CreateDirectory(output);
        if (Model.Lora is not null)
        {
            await LoraAdapterFile.SaveAsync(Model, output, BasePath, ct).ConfigureAwait(false);
        }
        else
        {
            await SaveCheckpointAsync(output, ct).ConfigureAwait(false);
        }

        // Once the weights are in place their optimizer state follows, cancelled or not, so a resume never pairs
        // new weights with the previous checkpoint's moments.
        var writer = new SafeTensorsWriter();
        trainer.Optimizer.Save(writer);
        await writer.WriteAsync(Path.Combine(output, OptimizerFile), CancellationToken.None).ConfigureAwait(false);
    };

    /// <summary>Runs a tuner's common path: options, LoRA, the loop, the final artifact.</summary>
    public Task<FineTunedArtifact> TrainAsync(DecoderTrainingOptions options, Data.IBatchSource train, Data.IBatchSource? validation, FineTuningRequest request, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
        => TrainAsync(options, trainer => new NextTokenObjective(trainer, Model, train, validation, options.EvaluationBatches, options.GradientAccumulationSteps), request.OutputPath, request.Seed, progress, cancellationToken);

    /// <summary>Attaches the LoRA adapters <paramref name="options"/> asks for, unless the session brought its own (an adapter folder).</summary>
    public void AttachLora(DecoderTrainingOptions options, int seed)
    {
        // An adapter folder given as the base brings its adapters: they are trained further (or resumed).
        if (options.Lora is not null && Model.Lora is null)
        {
            Model.AttachLora(options.Lora, seed);
        }
    }

    /// <summary>Runs the loop on the objective <paramref name="objective"/> builds, then writes the final artifact.</summary>
    public async Task<FineTunedArtifact> TrainAsync(DecoderTrainingOptions options, Func<DecoderTrainer, ITrainingObjective> objective, string outputPath, int seed, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        AttachLora(options, seed);
        var trainer = new DecoderTrainer(Model, options, seed) { CheckpointPath = Path.GetFullPath(outputPath) };
        trainer.SaveCheckpoint = CheckpointWriter(outputPath, trainer);
        if (options.Resume)
        {
            var state = Path.Combine(Source ?? throw new ArgumentException("Resume needs a base model folder holding optimizer.safetensors."), OptimizerFile);
            if (!File.Exists(state))
            {
                throw new ModelLoadException(state, "no optimizer state to resume from.", null);
            }

            using var reader = SafeTensorsReader.Open(state);
            trainer.Optimizer.Load(reader);
        }

        var trainable = Model.Trainable.Sum(s => (long)s.Length);
        var report = await trainer.RunAsync(objective(trainer), progress, cancellationToken).ConfigureAwait(false);
        var kind = ArtifactKinds.Checkpoint;
        if (Model.Lora is not null && options.MergeLora)
        {
            Model.MergeLora();
            await SaveCheckpointAsync(outputPath, cancellationToken).ConfigureAwait(false);
        }
        else if (Model.Lora is not null)
        {
            kind = ArtifactKinds.LoraAdapter;
        }

        var metrics = new Dictionary<string, double>(report.Metrics)
        {
            ["trainable_parameters"] = trainable,
            ["total_parameters"] = Model.Parameters.Length,
        };
        return new FineTunedArtifact
        {
            Path = Path.GetFullPath(outputPath),
            Kind = kind,
            BaseModel = BasePath,
            TrainableParameters = trainable,
            Report = report with { Metrics = metrics },
        };
    }
}
