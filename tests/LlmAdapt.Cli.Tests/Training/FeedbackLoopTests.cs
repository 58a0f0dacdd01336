using LlmAdapt.Onnx.Generation;
using LlmAdapt.Preference;
using LlmAdapt.Preference.Feedback;
using LlmAdapt.Training;
using LlmAdapt.Training.Dpo;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Lora;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Cli.Tests.Training;

/// <summary>
/// The feedback loop an organisation runs, end to end on real parts: a host serves a local ONNX model (a tiny GPT-2
/// pre-trained by the CLI on the first 4,000 characters of tinyshakespeare) through <c>UseBestOfN</c>, which records
/// its candidates and their scores in a JSON Lines feedback store; the records become pairs; DPO tunes a LoRA adapter
/// on them; <c>export onnx</c> merges it; and the exported model answers differently from the one served before.
/// </summary>
public sealed class FeedbackLoopTests
{
    private static readonly string[] s_prompts = ["What is the weather like?", "Tell me about the king.", "Where is the castle?", "Who are you?", "Sing me a song.", "What shall we do?"];

    [Fact]
    public async Task BestOfNFeedback_BecomesPairs_ADpoAdapter_AndAnExportedModelThatAnswersDifferently()
    {
        var dir = Path.Combine(Path.GetTempPath(), "llmadapt-cli-loop", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var text = Path.Combine(dir, "corpus.txt");
            await File.WriteAllTextAsync(text, (await File.ReadAllTextAsync(CliRunner.SharedData("corpus/tinyshakespeare/input.txt")))[..4000]);
            var model = Path.Combine(dir, "model");
            var (code, _, error) = await CliRunner.RunAsync("pretrain", "--layers", "1", "--heads", "2", "--dim", "16", "--context", "64", "--batch", "2", "--steps", "2", "--warmup", "1", "--eval-every", "2", "--eval-batches", "1", "--lr", "0.01", "--data", text, "--out", model);
            Assert.True(code == 0, error);
            var served = Path.Combine(dir, "onnx-base");
            (code, _, error) = await CliRunner.RunAsync("export", "onnx", "--model", model, "--out", served);
            Assert.True(code == 0, error);

            // The host: best of 4 sampled answers, scored by a rule the users stand for (answers with more letter e's
            // win), each request's candidates and scores recorded as a ranking.
            var feedback = Path.Combine(dir, "feedback.jsonl");
            var store = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = feedback, FlushToDisk = false });
            string before;
            using (var onnx = OnnxDecoderModel.Load(served))
            {
                using var chat = new OnnxChatClient(onnx, new OnnxChatClientOptions { Formatter = DialogueText.PromptOf });
                using var host = new ChatClientBuilder(chat).UseBestOfN(new LetterScorer('e'), o => { o.N = 4; o.MaxConcurrency = 1; o.Temperature = 1.0f; o.RecordRankings = true; }, store).Build();
                // No seed: with one, best-of-n would send it to all four candidates and they would be the same text.
                foreach (var prompt in s_prompts)
                {
                    await host.GetResponseAsync(prompt, new ChatOptions { MaxOutputTokens = 6 });
                }

                before = (await chat.GetResponseAsync(s_prompts[0], new ChatOptions { MaxOutputTokens = 6, Temperature = 0 })).Text;
            }

            var records = new List<FeedbackRecord>();
            await foreach (var record in store.ReadAllAsync())
            {
                records.Add(record);
            }

            Assert.Equal(s_prompts.Length, records.Count);
            var (rankings, pairs) = FeedbackExport.ToPairs(records);
            Assert.Equal(s_prompts.Length, rankings.Rankings.Count);
            Assert.True(pairs.Count >= s_prompts.Length, $"{pairs.Count} pairs");

            var adapter = Path.Combine(dir, "dpo");
            var options = new DpoOptions
            {
                Beta = 0.5,
                MaxPromptTokens = 32,
                MaxResponseTokens = 8,
                Training = new DecoderTrainingOptions { Steps = 12, BatchSize = 4, LearningRate = 5e-2, WarmupSteps = 1, WeightDecay = 0, EvaluationInterval = 12, CheckpointInterval = 12, Threads = 2, Lora = new LoraOptions { Rank = 4, Alpha = 8 } },
            };
            var artifact = await new DpoTrainer(options).TrainAsync(new PreferenceTrainingRequest { TrainingPairs = pairs, ValidationPairs = pairs, BaseModel = model, OutputPath = adapter, Seed = 1 });
            Assert.True(artifact.Report.Metrics["eval_rewards/accuracies"] > 0.5, $"accuracy {artifact.Report.Metrics["eval_rewards/accuracies"]}");

            var tuned = Path.Combine(dir, "onnx-dpo");
            (code, _, error) = await CliRunner.RunAsync("export", "onnx", "--model", adapter, "--out", tuned);
            Assert.True(code == 0, error);
            using var tunedModel = OnnxDecoderModel.Load(tuned);
            using var tunedChat = new OnnxChatClient(tunedModel, new OnnxChatClientOptions { Formatter = DialogueText.PromptOf });
            var after = (await tunedChat.GetResponseAsync(s_prompts[0], new ChatOptions { MaxOutputTokens = 6, Temperature = 0 })).Text;
            Assert.NotEqual(before, after);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Scores an answer by how often it uses one letter: a stand-in for what users preferred.</summary>
    private sealed class LetterScorer(char letter) : IResponseScorer
    {
        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<double>>([.. candidates.Select(c => (double)c.Count(ch => ch == letter) + (c.Length * 1e-3))]);
    }
}
