using LlmAdapt.Formats;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models.Gpt2;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Training.FineTuning;

/// <summary>A model being trained or evaluated, with its tokenizer and where it came from.</summary>
internal sealed class DecoderSession
{
    public const int EndOfText = 50256;

    private static readonly Lazy<Tokenizer> s_gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    private DecoderSession(Gpt2Model<float> model, string? source)
    {
        Model = model;
        Source = source;
    }

    public Gpt2Model<float> Model { get; }

    public string? Source { get; }

    public static Tokenizer Tokenizer => s_gpt2.Value;

    /// <summary>Loads a checkpoint folder (and an adapter folder inside it or given), or creates a model from scratch.</summary>
    public static async Task<DecoderSession> OpenAsync(string? baseModel, Gpt2Config? newModel, int seed, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(baseModel))
        {
            var full = Path.GetFullPath(baseModel);
            if (!Directory.Exists(full))
            {
                throw new ModelLoadException(full, "no such checkpoint folder.", null);
            }

            // An adapter folder names its base; load the base, then the adapter on top.
            if (File.Exists(Path.Combine(full, PeftAdapterConfig.FileName)) && !File.Exists(Path.Combine(full, Gpt2Checkpoint.WeightsFile)))
            {
                var adapter = await PeftAdapterConfig.ReadAsync(full, cancellationToken).ConfigureAwait(false);
                var basePath = adapter.BaseModelNameOrPath ?? throw new ModelLoadException(full, "adapter_config.json has no base_model_name_or_path.", null);
                var baseModelLoaded = await Gpt2Checkpoint.LoadAsync(basePath, cancellationToken).ConfigureAwait(false);
                await LoraAdapterFile.LoadAsync(baseModelLoaded, full, cancellationToken).ConfigureAwait(false);
                return new DecoderSession(baseModelLoaded, full);
            }

            var model = await Gpt2Checkpoint.LoadAsync(full, cancellationToken).ConfigureAwait(false);
            return new DecoderSession(model, full);
        }

        var created = new Gpt2Model<float>(newModel ?? throw new ArgumentException("Give a base model folder or the shape of a new model (DecoderTrainingOptions.NewModel)."));
        created.InitializeRandom(seed);
        return new DecoderSession(created, null);
    }

    public static int[] Encode(string text) => [.. Tokenizer.EncodeToIds(text)];

    /// <summary>Builds the checkpoint writer the trainer calls: the adapter alone under LoRA, else the whole model.</summary>
    public Func<int, CancellationToken, Task> CheckpointWriter(string output, DecoderTrainer trainer) => async (step, ct) =>
    {
        Directory.CreateDirectory(output);
        if (Model.Lora is not null)
        {
            await LoraAdapterFile.SaveAsync(Model, output, Source, ct).ConfigureAwait(false);
        }
        else
        {
            await Gpt2Checkpoint.SaveAsync(Model, output, ct).ConfigureAwait(false);
        }

        var writer = new SafeTensorsWriter();
        trainer.Optimizer.Save(writer);
        await writer.WriteAsync(Path.Combine(output, "optimizer.safetensors"), ct).ConfigureAwait(false);
    };

    /// <summary>Runs a tuner's common path: options, LoRA, the loop, the final artifact.</summary>
    public async Task<FineTunedArtifact> TrainAsync(DecoderTrainingOptions options, Data.IBatchSource train, Data.IBatchSource? validation, FineTuningRequest request, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        if (options.Lora is not null)
        {
            Model.AttachLora(options.Lora, request.Seed);
        }

        var trainer = new DecoderTrainer(Model, options, request.Seed) { CheckpointPath = Path.GetFullPath(request.OutputPath) };
        trainer.SaveCheckpoint = CheckpointWriter(request.OutputPath, trainer);
        if (options.Resume)
        {
            var state = Path.Combine(Source ?? throw new ArgumentException("Resume needs a base model folder holding optimizer.safetensors."), "optimizer.safetensors");
            if (!File.Exists(state))
            {
                throw new ModelLoadException(state, "no optimizer state to resume from.", null);
            }

            using var reader = SafeTensorsReader.Open(state);
            trainer.Optimizer.Load(reader);
        }

        var trainable = Model.Trainable.Sum(s => (long)s.Length);
        var report = await trainer.RunAsync(train, validation, progress, cancellationToken).ConfigureAwait(false);
        var kind = ArtifactKinds.Checkpoint;
        if (Model.Lora is not null && options.MergeLora)
        {
            Model.MergeLora();
            await Gpt2Checkpoint.SaveAsync(Model, request.OutputPath, cancellationToken).ConfigureAwait(false);
        }
        else if (Model.Lora is not null)
        {
            kind = ArtifactKinds.LoraAdapter;
        }

        var metrics = new Dictionary<string, double>(report.Metrics)
        {
            ["trainable_parameters"] = trainable,
            ["total_parameters"] = Model.Config.ParameterCount,
        };
        return new FineTunedArtifact
        {
            Path = Path.GetFullPath(request.OutputPath),
            Kind = kind,
            BaseModel = Source,
            TrainableParameters = trainable,
            Report = report with { Metrics = metrics },
        };
    }
}
