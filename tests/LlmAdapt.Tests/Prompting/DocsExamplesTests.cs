using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Chains;
using LlmAdapt.Prompting.Decomposition;
using LlmAdapt.Prompting.FewShot;
using LlmAdapt.Prompting.Optimization;
using LlmAdapt.Prompting.Reasoning;
using LlmAdapt.Prompting.SelfConsistency;
using LlmAdapt.Prompting.Templates;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Prompting;

/// <summary>The examples of docs/prompting.md, run against a scripted model instead of an endpoint.</summary>
public sealed class DocsExamplesTests
{
    private readonly TokenCounter counter = TokenCounter.ForModel("gpt-4o");

    [Fact]
    public async Task Templates()
    {
        var chat = ScriptedChatClient.Sequence("A .NET library that tailors LLMs to your organisation.");
        var template = PromptTemplate.Parse(
            user: "Summarise for {{ audience }} in at most {{ words }} words:\n\n{{ task }}",
            system: "You write plain, friendly summaries.");
        var strategy = new TemplatePromptStrategy("summarise", new TemplatePromptOptions { Template = template, MaxPromptTokens = 4000 }, counter);

        var result = await strategy.ExecuteAsync(chat, new PromptRequest
        {
            Task = "LlmAdapt is a .NET library that adapts general-purpose LLMs to an organisation...",
            Inputs = new Dictionary<string, object?> { ["audience"] = "new employees", ["words"] = 40 },
        });

        Assert.Equal("A .NET library that tailors LLMs to your organisation.", result.Text);
        Assert.StartsWith("Summarise for new employees in at most 40 words:", chat.Calls[0].LastUser, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FewShot()
    {
        var chat = ScriptedChatClient.Sequence("positive");
        PromptExample[] pool =
        [
            new("a gorgeous, witty, seductive movie.", "positive"),
            new("the plot is nothing but boilerplate clichés.", "negative"),
            new("an utterly charming and hilarious film.", "positive"),
            new("it's just too boring and obvious.", "negative"),
        ];
        IExampleSelector selector = new TokenBudgetExampleSelector(new FixedExampleSelector(pool), counter, maxTokens: 300);
        var fewShot = new FewShotPromptStrategy("sentiment", new FewShotPromptOptions
        {
            Selector = selector,
            Instructions = "Label the sentiment of the review as positive or negative.",
        }, counter);

        var label = await fewShot.ExecuteAsync(chat, new PromptRequest { Task = "a charming and often affecting journey." });

        Assert.Equal("positive", label.Text);
        Assert.Equal(1 + 8 + 1, chat.Calls[0].Messages.Count);
    }

    [Fact]
    public async Task StepByStep()
    {
        var chat = ScriptedChatClient.Sequence("pen + (pen + 10) = 11, so pen = 0.5.\nAnswer: 0.50 euros");
        var cot = new StepByStepPromptStrategy("cot", new StepByStepPromptOptions
        {
            Cue = ReasoningCues.DeepBreath,
            AnswerInstruction = ReasoningCues.AnswerLine,
            Extractor = new MarkerAnswerExtractor("Answer:"),
        }, counter);

        var solved = await cot.ExecuteAsync(chat, new PromptRequest { Task = "A pen and a notebook cost 11 euros; the notebook costs 10 more than the pen. What does the pen cost?" });

        Assert.Equal("0.50 euros", solved.Text);
        Assert.EndsWith(ReasoningCues.DeepBreath, chat.Calls[0].LastUser, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelfConsistency()
    {
        var chat = ScriptedChatClient.Sequence("Answer: 10", "Answer: 10", "Answer: 9", "Answer: 10", "no idea", "Answer: 10.", "Answer: 11");
        var vote = new SelfConsistencyPromptStrategy("vote", new SelfConsistencyPromptOptions
        {
            Samples = 7, Temperature = 0.7f, MaxConcurrency = 1, Seed = 42,
        }, counter);

        var voted = await vote.ExecuteAsync(chat, new PromptRequest { Task = "How many prime numbers are there below 30?" });
        var tally = (SelfConsistencyVotes)voted.AdditionalProperties![SelfConsistencyPromptStrategy.VotesKey]!;

        Assert.Equal("10", voted.Text);
        Assert.Equal(4.0 / 7, tally.Agreement);
    }

    [Fact]
    public async Task Chains()
    {
        var chat = ScriptedChatClient.Sequence("sales +12%; tickets -33%", "Great quarter!", "Sales Up, Tickets Down Sharply");
        var chainOptions = new ChainPromptOptions();
        chainOptions.Steps.Add(new ChainStep("facts", PromptTemplate.Parse("List the key facts in this text:\n{{ task }}")));
        chainOptions.Steps.Add(new ChainStep("draft", PromptTemplate.Parse("Write a {{ tone }} paragraph from these facts:\n{{ facts }}")));
        chainOptions.Steps.Add(new ChainStep("title", PromptTemplate.Parse("Give a five-word title for:\n{{ draft }}")));
        var chain = new ChainPromptStrategy("brief", chainOptions, counter);

        var brief = await chain.ExecuteAsync(chat, new PromptRequest
        {
            Task = "Quarterly sales rose 12% while support tickets fell by a third...",
            Inputs = new Dictionary<string, object?> { ["tone"] = "upbeat" },
        });
        var steps = (IReadOnlyDictionary<string, string>)brief.AdditionalProperties![ChainPromptStrategy.StepOutputsKey]!;

        Assert.Equal("Sales Up, Tickets Down Sharply", brief.Text);
        Assert.Equal("Great quarter!", steps["draft"]);
    }

    [Fact]
    public async Task LeastToMost()
    {
        var chat = ScriptedChatClient.Sequence("{\"sub_questions\": [\"How long is one round?\", \"How many rounds fit in 15 minutes?\"]}", "5 minutes", "3", "3 times");
        var l2m = new LeastToMostPromptStrategy("l2m", new LeastToMostPromptOptions { MaxDepth = 1, MaxSubQuestions = 4, MaxModelCalls = 12 }, counter);

        var answer = await l2m.ExecuteAsync(chat, new PromptRequest
        {
            Task = "Amy takes 4 minutes to climb a slide and 1 minute to slide down. The slide closes in 15 minutes. How many times can she slide?",
        });

        Assert.Equal("3 times", answer.Text);
        Assert.Equal(2, ((IReadOnlyList<SubQuestionAnswer>)answer.AdditionalProperties![LeastToMostPromptStrategy.SubQuestionsKey]!).Count);
    }

    [Fact]
    public async Task Optimisation()
    {
        var path = Path.Combine(Path.GetTempPath(), $"llmadapt-docs-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(path, "{\"input\": \"What is 6 * 7?\", \"output\": \"42\"}\n{\"input\": \"What is 9 - 4?\", \"output\": \"5\"}\n");
        var chat = new ScriptedChatClient((messages, _, _) =>
        {
            if (messages[0].Text.StartsWith("Your job is", StringComparison.Ordinal))
            {
                return "<INS>Reply with the number only.</INS>";
            }

            var number = messages[^1].Text.Contains('6', StringComparison.Ordinal) ? "42" : "5";
            return messages[0].Text.Contains("number only", StringComparison.Ordinal) ? number : $"The result is {number}.";
        });
        try
        {
            var devSet = await PromptExampleFile.ReadAsync(path);
            var optimizerOptions = new PromptOptimizerOptions
            {
                TaskDescription = "answer grade-school arithmetic questions with the number only",
                Metric = AnswerMetric.NormalizedMatch,
                MaxModelCalls = 300, CandidatesPerRound = 4, KeepTopK = 8, TargetScore = 0.95, Patience = 3, Seed = 7,
            };
            optimizerOptions.SeedInstructions.Add("Answer the question.");
            var optimizer = new PromptOptimizer(optimizerOptions);

            var found = await optimizer.OptimizeAsync(chat, devSet);

            Assert.Equal("Reply with the number only.", found.BestInstruction);
            Assert.Equal(OptimizationStopReason.TargetReached, found.StopReason);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
