using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Decomposition;
using LlmAdapt.Prompting.Optimization;
using LlmAdapt.Prompting.Reasoning;
using LlmAdapt.Prompting.SelfConsistency;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Onnx.Tests.Prompting;

/// <summary>
/// The strategies over a real local model: LlmAdapt's OnnxChatClient on the tiny random-weight Llama fixture
/// (shared/models/onnxruntime-genai). Its text is noise, so these runs exercise the malformed-output rules for real:
/// no answer marker, no JSON, and the bounds still hold.
/// </summary>
public sealed class StrategiesOnLocalModelTests
{
    private static readonly TokenCounter s_counter = TokenCounter.ForModel("gpt-4o");

    private static OnnxChatClient Client() => new(GenerationModels.Llama, new OnnxChatClientOptions { Template = ChatTemplate.Plain, DefaultMaxOutputTokens = 8 });

    private static readonly ChatOptions s_greedy = new() { Temperature = 0, MaxOutputTokens = 8 };

    [Fact]
    public async Task StepByStep_RandomText_FollowsTheNoAnswerRule()
    {
        using var client = Client();
        var strategy = new StepByStepPromptStrategy("cot", new StepByStepPromptOptions(), s_counter);

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = "What is 2 + 2?", ChatOptions = s_greedy });

        var reasoning = (string)result.AdditionalProperties![StepByStepPromptStrategy.ReasoningKey]!;
        var extracted = (bool)result.AdditionalProperties[StepByStepPromptStrategy.AnswerExtractedKey]!;
        Assert.Equal(1, result.ModelCalls);
        Assert.Equal(extracted, new MarkerAnswerExtractor().TryExtract(reasoning, out var answer));
        Assert.Equal(extracted ? answer : reasoning.Trim(), result.Text);
        Assert.NotNull(result.Usage);
    }

    [Fact]
    public async Task SelfConsistency_SamplesConcurrentlyOnTheLocalModel()
    {
        using var client = Client();
        var strategy = new SelfConsistencyPromptStrategy("sc", new SelfConsistencyPromptOptions { Samples = 4, MaxConcurrency = 2, Temperature = 1.0f, Seed = 5 }, s_counter);

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = "Name a colour.", ChatOptions = new ChatOptions { MaxOutputTokens = 8 } });

        var votes = (SelfConsistencyVotes)result.AdditionalProperties![SelfConsistencyPromptStrategy.VotesKey]!;
        Assert.Equal(4, result.ModelCalls);
        Assert.Equal(4, votes.Samples);
        Assert.Equal(4, votes.Counts.Sum(c => c.Value) + votes.Unanswered);
        Assert.Equal(votes.Counts.Count == 0 ? 0 : votes.Counts[0].Value / 4.0, votes.Agreement);
    }

    [Fact]
    public async Task LeastToMost_UnreadableDecomposition_IsRepairedOnceThenAnsweredDirectly()
    {
        using var client = Client();
        var strategy = new LeastToMostPromptStrategy("l2m", new LeastToMostPromptOptions { MaxRepairAttempts = 1, MaxModelCalls = 10, RequestJsonSchema = false }, s_counter);

        var result = await strategy.ExecuteAsync(client, new PromptRequest { Task = "How many legs do three spiders have?", ChatOptions = s_greedy });

        Assert.Equal(3, result.ModelCalls);
        Assert.Equal(1, result.AdditionalProperties![LeastToMostPromptStrategy.UnreadableDecompositionsKey]);
        Assert.Empty((IReadOnlyList<SubQuestionAnswer>)result.AdditionalProperties[LeastToMostPromptStrategy.SubQuestionsKey]!);
    }

    [Fact]
    public async Task Optimizer_OnTheLocalModel_StaysInBudget_AndItsScoresRecompute()
    {
        using var client = Client();
        PromptExample[] dev = [new("2 + 2 =", "4"), new("3 + 3 =", "6")];
        var options = new PromptOptimizerOptions { TaskDescription = "add numbers", SeedInstructions = { "Answer with a number." }, MaxModelCalls = 9, CandidatesPerRound = 2, Metric = AnswerMetric.Contains };
        var optimizer = new PromptOptimizer(options);

        var result = await optimizer.OptimizeAsync(client, dev);

        Assert.InRange(result.ModelCalls, 2, 9);
        foreach (var scored in result.History)
        {
            Assert.Equal(scored.Score, await optimizer.ScoreAsync(client, scored.Instruction, dev));
        }
    }
}
