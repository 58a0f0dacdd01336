using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Optimization;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Prompting;

public sealed class PromptOptimizerTests
{
    private static readonly PromptExample[] s_dev =
    [
        new("What is 3 + 4?", "7"),
        new("What is 10 - 6?", "4"),
        new("What is 2 * 9?", "18"),
        new("What is 81 / 9?", "9"),
        new("What is 5 + 5?", "10"),
        new("What is 7 * 6?", "42"),
    ];

    // Proposals by (round, index within the round), read back from the seed the optimiser asks for.
    private static readonly Dictionary<long, string> s_proposals = new()
    {
        [1000] = "<INS>Answer with a number.</INS>",
        [1001] = "Sure! Here is one: <INS>Answer the question.</INS>",
        [1002] = "",
        [1003] = "Be precise and helpful",
        [2000] = "Let me think.\n<INS>Reply with digits only.</INS>",
    };

    /// <summary>
    /// A model that is right only under certain instructions: "digits only" gives the bare number, "number" gives
    /// "The answer is N" (wrong under normalised match), anything else a wordy reply.
    /// </summary>
    private static string Answer(string? instruction, string input)
    {
        var expected = s_dev.Single(d => d.Input == input).Output;
        instruction ??= string.Empty;
        if (instruction.Contains("digits only", StringComparison.OrdinalIgnoreCase))
        {
            return expected;
        }

        return instruction.Contains("number", StringComparison.OrdinalIgnoreCase) ? $"The answer is {expected}" : $"Well, I believe it comes to {expected} or so.";
    }

    private static ScriptedChatClient Model() => new((messages, options, _) =>
    {
        if (messages[0].Role == ChatRole.User && messages[0].Text.StartsWith("Your job is", StringComparison.Ordinal))
        {
            return s_proposals.TryGetValue(options!.Seed!.Value, out var p) ? p : "<INS>Answer the question.</INS>";
        }

        var system = messages.FirstOrDefault(m => m.Role == ChatRole.System)?.Text;
        return Answer(system, messages[^1].Text);
    });

    private static PromptOptimizer Optimizer(Action<PromptOptimizerOptions>? configure = null)
    {
        var options = new PromptOptimizerOptions { TaskDescription = "answer arithmetic questions", SeedInstructions = { "Answer the question." }, MaxModelCalls = 200 };
        configure?.Invoke(options);
        return new PromptOptimizer(options);
    }

    [Fact]
    public async Task Optimize_FindsAnInstructionUnderWhichTheModelIsRight_WithinBudget()
    {
        var client = Model();
        var reports = new List<PromptOptimizationProgress>();

        var result = await Optimizer().OptimizeAsync(client, s_dev, new SynchronousProgress(reports.Add));

        Assert.Equal("Reply with digits only.", result.BestInstruction);
        Assert.Equal(1.0, result.BestScore);
        Assert.Equal(OptimizationStopReason.TargetReached, result.StopReason);
        // 6 for the seed; round 1: 4 proposals, 2 new instructions scored (a duplicate and an empty reply skipped);
        // round 2: 4 proposals and the first one scored reaches the target.
        Assert.Equal(6 + (4 + 12) + (4 + 6), result.ModelCalls);
        Assert.Equal(result.ModelCalls, client.Calls.Count);
        Assert.Equal(["Answer the question.", "Answer with a number.", "Be precise and helpful", "Reply with digits only."], result.History.Select(h => h.Instruction));
        Assert.Equal([0, 1, 1, 2], result.History.Select(h => h.Round));
        Assert.Equal(result.History.Count, reports.Count);
    }

    [Fact]
    public async Task Optimize_ReportedScoresEqualARecomputation()
    {
        var optimizer = Optimizer(o => o.TargetScore = 0.99);
        var result = await optimizer.OptimizeAsync(Model(), s_dev);

        foreach (var scored in result.History)
        {
            var recomputed = s_dev.Average(d => AnswerMetric.NormalizedMatch.Score(Answer(scored.Instruction, d.Input), d.Output));
            Assert.Equal(recomputed, scored.Score);
            Assert.Equal(recomputed, await optimizer.ScoreAsync(Model(), scored.Instruction, s_dev));
        }

        Assert.Equal(result.History.Max(h => h.Score), result.BestScore);
    }

    [Fact]
    public async Task Optimize_MetaPromptShowsTheBestSoFarLowestFirst_AndTheExamples()
    {
        var client = Model();
        await Optimizer(o => { o.KeepTopK = 2; o.MetaPromptExamples = 1; }).OptimizeAsync(client, s_dev);

        var metaPrompts = client.Calls.Where(c => c.Messages[0].Text.StartsWith("Your job is", StringComparison.Ordinal)).Select(c => c.Messages[0].Text).Distinct().ToList();
        Assert.Equal(2, metaPrompts.Count);
        Assert.Equal(
            "Your job is to write the instruction a language model receives as its system message for this task: answer arithmetic questions\n\n" +
            "Earlier instructions and their scores on a development set (0 to 100, higher is better), lowest first:\n\n" +
            "<INS>Answer with a number.</INS>\nScore: 0\n\n<INS>Answer the question.</INS>\nScore: 0\n\n" +
            "Examples of the task (the model gets the input as the user message; the expected output follows):\n\n" +
            "Input: What is 3 + 4?\nExpected output: 7\n\n" +
            "Write a new instruction that differs from every instruction above and scores higher. Reply with the new instruction only, between <INS> and </INS>.",
            metaPrompts[1]);
    }

    [Fact]
    public async Task Optimize_StopsBeforeGoingOverTheCallBudget()
    {
        var client = Model();

        var result = await Optimizer(o => o.MaxModelCalls = 20).OptimizeAsync(client, s_dev);

        Assert.Equal(OptimizationStopReason.CallBudget, result.StopReason);
        Assert.True(client.Calls.Count <= 20, $"{client.Calls.Count} calls");
        Assert.Equal(6 + 2 + 6, client.Calls.Count);
        Assert.Equal("Answer the question.", result.BestInstruction);
    }

    [Fact]
    public async Task Optimize_StopsAfterPatienceRoundsWithoutImprovement()
    {
        var client = new ScriptedChatClient((messages, _, _) => messages[0].Role == ChatRole.User && messages[0].Text.StartsWith("Your job", StringComparison.Ordinal)
            ? "<INS>Answer the question.</INS>"
            : "wrong");

        var result = await Optimizer(o => { o.Patience = 2; o.CandidatesPerRound = 3; }).OptimizeAsync(client, s_dev);

        Assert.Equal(OptimizationStopReason.NoImprovement, result.StopReason);
        Assert.Equal(2, result.Rounds);
        Assert.Equal(6 + 3 + 3, result.ModelCalls);
        Assert.Equal(0, result.BestScore);
    }

    [Fact]
    public async Task Optimize_IsDeterministicForASeed()
    {
        var first = await Optimizer(o => { o.Seed = 0; o.MaxConcurrency = 8; }).OptimizeAsync(Model(), s_dev);
        var second = await Optimizer(o => { o.Seed = 0; o.MaxConcurrency = 8; }).OptimizeAsync(Model(), s_dev);

        Assert.Equal(first.History, second.History);
        Assert.Equal(first.ModelCalls, second.ModelCalls);
    }

    [Fact]
    public async Task Optimize_WithoutSeeds_InducesInstructionsFromTheDevPairs()
    {
        var client = new ScriptedChatClient((messages, options, _) =>
        {
            var text = messages[0].Text;
            if (text.StartsWith("Someone was given one instruction", StringComparison.Ordinal))
            {
                return options!.Seed == 0 ? "<INS>Do the sum.</INS>" : "I am not sure.\n<INS>Reply with digits only.</INS>";
            }

            return Answer(messages.FirstOrDefault(m => m.Role == ChatRole.System)?.Text, messages[^1].Text);
        });
        var options = new PromptOptimizerOptions { TaskDescription = "answer arithmetic questions", CandidatesPerRound = 2, InductionExamples = 2 };

        var result = await new PromptOptimizer(options).OptimizeAsync(client, s_dev);

        Assert.Equal("Reply with digits only.", result.BestInstruction);
        Assert.Equal(OptimizationStopReason.TargetReached, result.StopReason);
        Assert.Equal([0, 0], result.History.Select(h => h.Round));
        Assert.Equal(2 + 6 + 6, result.ModelCalls);
        var induction = client.Calls[0].Messages[0].Text;
        Assert.Contains("Input: What is 3 + 4?\nOutput: 7\n\nInput: What is 10 - 6?\nOutput: 4\n\nWhat was the instruction?", induction, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Optimize_NothingReadable_ReturnsAnEmptyInstructionWithoutThrowing()
    {
        var client = new ScriptedChatClient((_, _, _) => "   ");
        var options = new PromptOptimizerOptions { TaskDescription = "t", CandidatesPerRound = 2, Patience = 2 };

        var result = await new PromptOptimizer(options).OptimizeAsync(client, s_dev);

        Assert.Equal(string.Empty, result.BestInstruction);
        Assert.Equal(0, result.BestScore);
        Assert.Empty(result.History);
        Assert.Equal(OptimizationStopReason.NoImprovement, result.StopReason);
        Assert.Equal(2 + 2 + 2, result.ModelCalls);
    }

    [Fact]
    public async Task Optimize_BudgetTooSmallForOneScoring_Throws()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Optimizer(o => o.MaxModelCalls = 5).OptimizeAsync(Model(), s_dev));
        Assert.Contains("6 calls", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<INS> Be terse. </INS>", "Be terse.")]
    [InlineData("<ins>a</ins> then <INS>b</INS>", "b")]
    [InlineData("<INS></INS>", null)]
    [InlineData("   ", null)]
    [InlineData("Just say the number.", "Just say the number.")]
    public void ParseProposal_HandlesTagsAndMalformedReplies(string reply, string? expected) => Assert.Equal(expected, PromptOptimizer.ParseProposal(reply));

    [Theory]
    [InlineData("exact", "7", " 7 ", 1)]
    [InlineData("exact", "Seven", "seven", 0)]
    [InlineData("normalized", "Seven.", "seven", 1)]
    [InlineData("contains", "The answer is 42.", "42", 1)]
    [InlineData("contains", "The answer is 41.", "42", 0)]
    public void Metrics_ScoreAsDocumented(string metric, string predicted, string expected, double score)
        => Assert.Equal(score, AnswerMetric.FromName(metric).Score(predicted, expected));

    [Fact]
    public void Metric_FromDelegate_IsClamped()
    {
        var metric = AnswerMetric.Create("length", (p, e) => p.Length - e.Length);
        Assert.Equal(1, metric.Score("abcd", "a"));
        Assert.Equal(0, metric.Score("a", "abcd"));
        Assert.Throws<ArgumentException>(() => AnswerMetric.FromName("bleu"));
    }

    private sealed class SynchronousProgress(Action<PromptOptimizationProgress> report) : IProgress<PromptOptimizationProgress>
    {
        public void Report(PromptOptimizationProgress value) => report(value);
    }
}
