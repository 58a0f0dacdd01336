using System.Text.Json;
using LlmAdapt.Formats;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Llama;
using LlmAdapt.Training.Tests.Data;
using Xunit.Abstractions;

namespace LlmAdapt.Training.Tests.FineTuning;

public sealed class LlamaFineTuningTests(ITestOutputHelper log)
{
    /// <summary>A prompt short enough that answers start inside the tiny model's 32-token context.</summary>
    private static readonly InstructionPromptFormat ShortFormat = new() { PromptTemplate = "Q: {instruction}\nA:", TurnTemplate = "{role}: " };

    [Fact]
    public async Task LoraSft_OnALlamaCheckpointWithItsOwnTokenizer_LowersAnswerLoss_InThePeftLayout_AndMergesIntoACheckpointThatKeepsTheTokenizer()
    {
        // Sample: the first 12 Self-Instruct seed tasks; the answer loss is measured on the first 4.
        var examples = (await InstructionDatasets.LoadSelfInstructAsync(TestData.PathOf("instructions/self-instruct/seed_tasks.jsonl"))).Take(12).ToList();
        var baseDir = await DecoderTokenizerTests.LlamaCheckpointWithItsOwnTokenizerAsync(seed: 1, embeddingScale: 20);
        var output = TestData.TempDirectory();
        var options = new DecoderTrainingOptions
        {
            Steps = 20,
            BatchSize = 4,
            SequenceLength = 32,
            WarmupSteps = 2,
            LearningRate = 2e-2,
            WeightDecay = 0,
            EvaluationInterval = 20,
            CheckpointInterval = 20,
            Lora = new LoraOptions { Rank = 4, Alpha = 8 },
        };
        var artifact = await new InstructionFineTuner(options, ShortFormat).FineTuneAsync(new FineTuningRequest { TrainingSet = examples, ValidationSet = examples[..4], BaseModel = baseDir, OutputPath = output, Seed = 2 });

        var before = artifact.Report.Metrics["validation_loss_before"];
        log.WriteLine($"Llama LoRA SFT: answer loss {before:F3} -> {artifact.Report.BestValidationLoss:F3}, {artifact.TrainableParameters} of {artifact.Report.Metrics["total_parameters"]} parameters trained");
        Assert.Equal(ArtifactKinds.LoraAdapter, artifact.Kind);
        Assert.True(artifact.Report.BestValidationLoss < before - 0.3, $"answer loss {before:F3} -> {artifact.Report.BestValidationLoss:F3}");

        // PEFT's names for Llama: base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight, [r, in]; nn.Linear, so no fan_in_fan_out.
        using (var reader = SafeTensorsReader.Open(Path.Combine(output, PeftAdapterConfig.WeightsFileName)))
        {
            Assert.Equal(2 * 7, reader.Tensors.Count);
            Assert.Equal([4L, 32], reader.Tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"].Shape);
            Assert.Equal([16L, 4], reader.Tensors["base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight"].Shape);
            Assert.Equal([4L, 64], reader.Tensors["base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"].Shape);
        }

        using (var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, PeftAdapterConfig.FileName))))
        {
            Assert.False(config.RootElement.GetProperty("fan_in_fan_out").GetBoolean());
            Assert.Equal(7, config.RootElement.GetProperty("target_modules").GetArrayLength());
            Assert.Equal(baseDir, config.RootElement.GetProperty("base_model_name_or_path").GetString());
        }

        // The adapter folder scores and samples through the base's own tokenizer.
        Assert.Equal(artifact.Report.BestValidationLoss!.Value, await DecoderEvaluator.AnswerLossAsync(output, examples[..4], ShortFormat, 32), 3);
        var text = await DecoderEvaluator.GenerateAsync(output, "Hello world", maxNewTokens: 5, temperature: 0);
        Assert.StartsWith("Hello world", text, StringComparison.Ordinal);

        // Merged: a full Llama checkpoint carrying the base's tokenizer files and config, that scores like the adapter.
        var merged = TestData.TempDirectory();
        options.Steps = 1;
        options.WarmupSteps = 0;
        options.LearningRate = 1e-9;
        options.MergeLora = true;
        await new InstructionFineTuner(options, ShortFormat).FineTuneAsync(new FineTuningRequest { TrainingSet = examples, ValidationSet = examples[..4], BaseModel = output, OutputPath = merged, Seed = 2 });
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(baseDir, "tokenizer.json")), await File.ReadAllBytesAsync(Path.Combine(merged, "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(merged, "tokenizer_config.json")));
        var reloaded = (LlamaModel<float>)await DecoderCheckpoint.LoadAsync(merged, CancellationToken.None);
        Assert.Equal(DecoderTokenizerTests.TinyLlama32k, reloaded.Config);
        Assert.Equal(artifact.Report.BestValidationLoss!.Value, await DecoderEvaluator.AnswerLossAsync(merged, examples[..4], ShortFormat, 32), 2);
    }

    [Fact]
    public async Task PretrainingANewLlama_WritesACheckpointWithGpt2TokenizerFiles_ThatLoadsAndScores()
    {
        // Sample: the first 8,000 characters of tinyshakespeare, fixed seed.
        var text = (await File.ReadAllTextAsync(TestData.PathOf("corpus/tinyshakespeare/input.txt")))[..8_000];
        var output = TestData.TempDirectory();
        var options = new DecoderTrainingOptions
        {
            Steps = 6,
            BatchSize = 4,
            SequenceLength = 32,
            WarmupSteps = 1,
            LearningRate = 3e-3,
            EvaluationInterval = 3,
            EvaluationBatches = 2,
            CheckpointInterval = 6,
            NewModel = new LlamaConfig { VocabSize = 50257, Layers = 1, Heads = 4, KeyValueHeads = 2, Channels = 16, IntermediateSize = 48, ContextLength = 32 },
        };
        var artifact = await new ContinuedPretrainingFineTuner(options).FineTuneAsync(new FineTuningRequest { TrainingSet = [new TrainingExample { Input = text }], OutputPath = output, Seed = 1 });

        var validation = artifact.Report.History.Where(h => h.ValidationLoss is not null).Select(h => h.ValidationLoss!.Value).ToArray();
        Assert.True(validation[^1] < validation[0], string.Join(" -> ", validation));
        Assert.All(Gpt2TokenizerFiles.FileNames, name => Assert.True(File.Exists(Path.Combine(output, name)), name));
        var config = await HuggingFaceModelConfig.ReadAsync(output);
        Assert.Equal("llama", config.ModelType);
        Assert.Equal(50256, config.EosTokenId);
        var tokenizer = DecoderTokenizer.Load(output, config);
        Assert.Equal("byte-level-bpe", tokenizer.Kind);
        var score = await DecoderEvaluator.PerplexityAsync(output, text, 32, startFraction: 0.9);
        Assert.InRange(score.Loss, 1, 11.5);
        Assert.NotNull(score.UnigramEntropy);
    }
}
