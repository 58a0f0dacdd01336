using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Preference;
using LlmAdapt.Preference.Feedback;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.Dpo;
using LlmAdapt.Training.Lora;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace LlmAdapt.Cli.Tests.Preference;

/// <summary>
/// The loop an organisation runs, end to end on real models: a host serves a local ONNX decoder through best-of-n,
/// the candidates and a user's thumbs are recorded, the records become preference pairs, DPO tunes a LoRA adapter on
/// them, the adapter is exported to ONNX, and the exported model answers differently. The decoder is a tiny GPT-2
/// pre-trained by the CLI for 2 steps on the first 4,000 characters of tinyshakespeare (seed 42); the reward is a
/// fixed rule (the share of vowels), standing in for a reward model so the test can predict what DPO should learn.
/// </summary>
public sealed class FeedbackLoopTests(ITestOutputHelper output)
{
    private static readonly string[] s_prompts = ["ROMEO: what light", "JULIET: good night", "Speak the speech", "Once more unto", "Friends and", "Now is the winter"];

    private static readonly InstructionPromptFormat s_dialogue = new() { PromptTemplate = "\n\nHuman: {instruction}\n\nAssistant:", TurnTemplate = "\n\n{role}:" };

    [Fact]
    public async Task ServedAnswers_ToFeedback_ToPairs_ToDpoAdapter_ChangeTheExportedModelsGreedyAnswers()
    {
        var dir = Directory.CreateTempSubdirectory("llmadapt-loop-").FullName;
        try
        {
            var checkpoint = await CliRunner.PretrainTinyAsync(dir, "base", dim: 32, context: 64, steps: 2);
            var baseOnnx = Path.Combine(dir, "base-onnx");
            await OnnxDecoderExporter.ExportAsync(checkpoint, baseOnnx);

            // 1. A host serves the base model through best-of-4, recording every request's ranking, and a user votes.
            var feedbackPath = Path.Combine(dir, "feedback.jsonl");
            using (var model = OnnxDecoderModel.Load(baseOnnx))
            using (var host = BuildHost(model, feedbackPath))
            {
                var chat = host.Services.GetRequiredService<IChatClient>();
                var store = host.Services.GetRequiredService<IFeedbackStore>();
                foreach (var prompt in s_prompts)
                {
                    var answer = await chat.GetResponseAsync(prompt, new ChatOptions { MaxOutputTokens = 6, Temperature = 1.0f, Seed = prompt.Length });
                    Assert.False(string.IsNullOrEmpty(answer.ResponseId));
                }

                var liked = await chat.GetResponseAsync(s_prompts[0], new ChatOptions { MaxOutputTokens = 6, Temperature = 1.0f, Seed = 100 });
                var disliked = await chat.GetResponseAsync(s_prompts[0], new ChatOptions { MaxOutputTokens = 6, Temperature = 1.0f, Seed = 200 });
                Assert.NotEqual(liked.Text, disliked.Text);
                var (up, down) = VowelShare(liked.Text) >= VowelShare(disliked.Text) ? (liked, disliked) : (disliked, liked);
                await store.AppendAsync(FeedbackRecord.Thumbs(up.ResponseId!, s_prompts[0], up.Text, up: true));
                await store.AppendAsync(FeedbackRecord.Thumbs(down.ResponseId!, s_prompts[0], down.Text, up: false));
            }

            // 2. The records become pairs; best-of-n's rankings carry the reward's margins.
            var records = await JsonLinesFeedbackStore.ReadFileAsync(feedbackPath).ToListAsync();
            Assert.True(records.Count(r => r.Source == "best-of-n") >= s_prompts.Length, $"{records.Count} records");
            var (rankings, pairs) = FeedbackExport.ToPairs(records, PairingStrategy.AllPairs);
            Assert.True(pairs.Count >= 12, $"{pairs.Count} pairs from {rankings.Rankings.Count} rankings");
            Assert.All(pairs, p => Assert.True(VowelShare(p.Chosen) > VowelShare(p.Rejected)));

            // 3. DPO tunes a LoRA adapter on the pairs, against the base with the adapter off.
            var adapter = Path.Combine(dir, "dpo");
            var trainer = new DpoTrainer(new DpoOptions
            {
                Beta = 0.5,
                MaxPromptTokens = 32,
                MaxResponseTokens = 16,
                PromptFormat = s_dialogue,
                Training = new() { Steps = 30, BatchSize = 4, LearningRate = 0.03, WarmupSteps = 2, WeightDecay = 0, EvaluationInterval = 30, EvaluationBatches = 1, CheckpointInterval = 1000, Threads = 1, Lora = new LoraOptions { Rank = 4, Alpha = 8 } },
            });
            var artifact = await trainer.TrainAsync(new PreferenceTrainingRequest { TrainingPairs = pairs, ValidationPairs = pairs.Take(2).ToList(), BaseModel = checkpoint, OutputPath = adapter });
            Assert.True(artifact.Report.Metrics["rewards/accuracies"] > 0.5, $"rewards/accuracies {artifact.Report.Metrics["rewards/accuracies"]}");

            // 4. The adapter is merged into an ONNX export, and that model's greedy answers move.
            var tunedOnnx = Path.Combine(dir, "dpo-onnx");
            var export = await OnnxDecoderExporter.ExportAsync(adapter, tunedOnnx);
            Assert.True(export.MergedLoraModules > 0);
            using var baseModel = OnnxDecoderModel.Load(baseOnnx);
            using var tunedModel = OnnxDecoderModel.Load(tunedOnnx);
            using var baseChat = new OnnxChatClient(baseModel, ChatOptionsFor());
            using var tunedChat = new OnnxChatClient(tunedModel, ChatOptionsFor());
            var changed = 0;
            double before = 0, after = 0;
            foreach (var prompt in s_prompts)
            {
                var greedy = new ChatOptions { MaxOutputTokens = 6, Temperature = 0 };
                var a = (await baseChat.GetResponseAsync(prompt, greedy)).Text;
                var b = (await tunedChat.GetResponseAsync(prompt, greedy)).Text;
                changed += a == b ? 0 : 1;
                before += VowelShare(a);
                after += VowelShare(b);
            }

            output.WriteLine(FormattableString.Invariant($"{records.Count} records, {rankings.Rankings.Count} rankings, {pairs.Count} pairs; rewards/accuracies {artifact.Report.Metrics["rewards/accuracies"]:F3}; {changed}/{s_prompts.Length} greedy answers changed; vowel share {before / s_prompts.Length:F3} -> {after / s_prompts.Length:F3}"));
            Assert.True(changed > 0, "DPO left every greedy answer unchanged.");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static IHost BuildHost(OnnxDecoderModel model, string feedbackPath)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLlmAdapt(llm => llm.AddJsonLinesFeedbackStore(o => o.Path = feedbackPath));
        builder.Services.AddSingleton<IResponseScorer, VowelScorer>();
        builder.Services.AddChatClient(_ => new OnnxChatClient(model, ChatOptionsFor()))
            .UseBestOfN(configure: o => { o.N = 4; o.MaxConcurrency = 1; o.RecordRankings = true; });
        return builder.Build();
    }

    /// <summary>The host renders chats as the same dialogue text DPO's prompt format produces, so both see one prompt.</summary>
    private static OnnxChatClientOptions ChatOptionsFor() => new() { Formatter = messages => s_dialogue.RenderPrompt(DialogueText.PromptOf(messages)) };

    private static double VowelShare(string text)
        => text.Length == 0 ? 0 : (double)text.Count(c => "aeiouAEIOU".Contains(c, StringComparison.Ordinal)) / text.Length;

    private sealed class VowelScorer : IResponseScorer
    {
        public Task<IReadOnlyList<double>> ScoreAsync(IReadOnlyList<ChatMessage> conversation, IReadOnlyList<string> candidates, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<double>>(candidates.Select(VowelShare).ToArray());
    }
}
