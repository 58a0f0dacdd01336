using LlmAdapt.Training.Data;
using LlmAdapt.Training.FineTuning;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Training.Tests.Data;

public sealed class InstructionDataTests
{
    [Fact]
    public async Task SelfInstructSeedTasks_LoadOneExamplePerInstance()
    {
        var examples = await InstructionDatasets.LoadSelfInstructAsync(TestData.PathOf("instructions/self-instruct/seed_tasks.jsonl"));
        Assert.True(examples.Count >= 175, $"{examples.Count} examples");
        Assert.All(examples, e => Assert.False(string.IsNullOrEmpty(e.Output)));
        Assert.StartsWith("Is there anything I can eat for a breakfast", examples[0].Input, StringComparison.Ordinal);
        Assert.EndsWith(":1", examples[0].Origin, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alpaca_JsonArrayAndJsonl_BothLoad_WithInputJoinedToTheInstruction()
    {
        var dir = TestData.TempDirectory();
        var array = Path.Combine(dir, "a.json");
        await File.WriteAllTextAsync(array, """[{"instruction":"Add","input":"2 and 3","output":"5"},{"instruction":"Greet","output":"Hello"}]""");
        var lines = Path.Combine(dir, "a.jsonl");
        await File.WriteAllTextAsync(lines, "{\"instruction\":\"Add\",\"input\":\"2 and 3\",\"output\":\"5\"}\n\n{\"instruction\":\"Greet\",\"output\":\"Hello\"}\n");
        foreach (var path in new[] { array, lines })
        {
            var examples = await InstructionDatasets.LoadAsync(path, "alpaca");
            Assert.Equal(2, examples.Count);
            Assert.Equal("Add\n\n### Input:\n2 and 3", examples[0].Input);
            Assert.Equal("Greet", examples[1].Input);
            Assert.Equal("Hello", examples[1].Output);
        }
    }

    [Theory]
    [InlineData("alpaca", "{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"a\" \"output\":\"b\"}\n", 2)]
    [InlineData("alpaca", "{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"a\"}\n", 3)]
    [InlineData("self-instruct", "{\"instruction\":\"a\",\"instances\":[]}\n", 1)]
    [InlineData("chat", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"yo\"}]}\n{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n", 2)]
    [InlineData("chat", "{\"messages\":[{\"role\":\"robot\",\"content\":\"hi\"}]}\n", 1)]
    public async Task MalformedLine_IsReportedWithItsLineNumber(string format, string contents, int line)
    {
        var path = Path.Combine(TestData.TempDirectory(), "bad.jsonl");
        await File.WriteAllTextAsync(path, contents);
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => InstructionDatasets.LoadAsync(path, format));
        Assert.Equal(line, ex.LineNumber);
        Assert.Contains($"bad.jsonl:{line}:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownFormat_ListsTheValidOnes()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => InstructionDatasets.LoadAsync("x", "dolly"));
        Assert.Contains("alpaca, self-instruct, chat", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PreferencePairs_LoadAsPromptAndChosenAnswer_AndAnEmptyChosenAnswerNamesItsLine()
    {
        // Sample: HH-RLHF harmless pairs-1800.jsonl.gz, lines 1–30 (30 pairs), then lines 80–90 (line 87 has an empty chosen answer).
        var hh = TestData.PathOf("preference/hh-rlhf-harmless/pairs-1800.jsonl.gz");
        var lines = (await ReadLinesAsync(hh)).ToList();
        var dir = TestData.TempDirectory();
        var sample = Path.Combine(dir, "hh-30.jsonl");
        await File.WriteAllLinesAsync(sample, lines.Take(30));

        var examples = await InstructionDatasets.LoadAsync(sample, "preference");
        var pairs = await LlmAdapt.Preference.PreferenceDataReader.ReadPairsAsync(sample);
        Assert.Equal(30, examples.Count);
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(pairs[i].Prompt, examples[i].Input);
            Assert.Equal(pairs[i].Chosen, examples[i].Output);
            Assert.EndsWith($"hh-30.jsonl:{i + 1}", examples[i].Origin, StringComparison.Ordinal);
        }

        Assert.All(examples, e => Assert.EndsWith("Assistant:", e.Input.TrimEnd(), StringComparison.Ordinal));

        var withEmpty = Path.Combine(dir, "hh-80-90.jsonl");
        await File.WriteAllLinesAsync(withEmpty, lines.Skip(79).Take(11));
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => InstructionDatasets.LoadAsync(withEmpty, "preference"));
        Assert.Contains("hh-80-90.jsonl:8:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("chosen response is empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PlainFormat_WithMaxPromptTokens_KeepsTheLastPromptTokens_AndTheWholeAnswer()
    {
        var prompt = "\n\nHuman: What is the capital of France, and how many people live there?\n\nAssistant:";
        var example = new TrainingExample { Input = prompt, Output = " Paris, with about two million people." };
        var promptIds = DecoderTokenizer.Gpt2.Encode(prompt);
        var answerIds = DecoderTokenizer.Gpt2.Encode(example.Output);
        Assert.True(promptIds.Length > 8);

        var whole = InstructionFineTuner.Render(example, InstructionPromptFormat.Plain, DecoderTokenizer.Gpt2);
        Assert.Equal([.. promptIds, .. answerIds, 50256], whole.Tokens);

        var cut = InstructionFineTuner.Render(example, InstructionPromptFormat.Plain with { MaxPromptTokens = 8 }, DecoderTokenizer.Gpt2);
        Assert.Equal([.. promptIds[^8..], .. answerIds, 50256], cut.Tokens);
        Assert.All(cut.LossMask[..8], m => Assert.False(m));
        Assert.All(cut.LossMask[8..], m => Assert.True(m));

        var options = new DecoderTrainingOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => new InstructionFineTuner(options, InstructionPromptFormat.Plain with { MaxPromptTokens = 0 }));
    }

    private static async Task<IEnumerable<string>> ReadLinesAsync(string gz)
    {
        await using var file = File.OpenRead(gz);
        await using var unzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(unzip);
        return (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void Rendering_MasksThePrompt_AndLearnsTheAnswerAndEndOfText()
    {
        var example = new TrainingExample { Input = "Say hi", Output = " Hello there" };
        var rendered = InstructionFineTuner.Render(example, InstructionPromptFormat.Alpaca, DecoderTokenizer.Gpt2);
        var promptTokens = FineTuningTokens.Count(InstructionPromptFormat.Alpaca.RenderPrompt("Say hi"));
        var answerTokens = FineTuningTokens.Count(" Hello there");
        Assert.Equal(promptTokens + answerTokens + 1, rendered.Tokens.Length);
        Assert.All(rendered.LossMask[..promptTokens], m => Assert.False(m));
        Assert.All(rendered.LossMask[promptTokens..], m => Assert.True(m));
        Assert.Equal(50256, rendered.Tokens[^1]);
    }

    [Fact]
    public void Batches_PutLossOnAnswerTokensOnly()
    {
        var examples = InstructionFineTuner.Render([new TrainingExample { Input = "Say hi", Output = " Hello there" }], InstructionPromptFormat.Alpaca, 64, DecoderTokenizer.Gpt2);
        var source = new ExampleBatchSource(examples, 2, 64);
        var (inputs, targets, weights) = source.Sequential(1).Single();
        Assert.Null(weights);
        var e = examples[0];

        // Position i predicts token i + 1: a target exists exactly where token i + 1 is an answer token.
        for (var i = 0; i < 64; i++)
        {
            var expected = i + 1 < e.Tokens.Length && e.LossMask[i + 1] ? e.Tokens[i + 1] : -1;
            Assert.Equal(expected, targets[i]);
        }

        Assert.Equal(FineTuningTokens.Count(" Hello there") + 1, targets.Count(t => t >= 0));
        Assert.All(targets[64..], t => Assert.Equal(-1, t));
        Assert.Equal(e.Tokens[0], inputs[0]);
    }

    [Fact]
    public void ExampleWeights_ScaleTheirRowsLoss_AndMustBePositive()
    {
        var examples = InstructionFineTuner.Render(
            [new TrainingExample { Input = "Say hi", Output = " Hello", Weight = 2.5 }, new TrainingExample { Input = "Say bye", Output = " Bye" }],
            InstructionPromptFormat.Alpaca,
            64,
            DecoderTokenizer.Gpt2);
        var (_, _, weights) = new ExampleBatchSource(examples, 2, 64).Sequential(1).Single();
        Assert.NotNull(weights);
        Assert.All(weights[..64], w => Assert.Equal(2.5f, w));
        Assert.All(weights[64..], w => Assert.Equal(1f, w));

        // Continued pre-training: each token carries its document's weight; all-1 weights are no weights.
        var (tokens, tokenWeights) = ContinuedPretrainingFineTuner.Tokenize([new TrainingExample { Input = "a b", Weight = 3 }, new TrainingExample { Input = "c" }], DecoderTokenizer.Gpt2);
        Assert.Equal([3f, 3f, 1f, 1f], tokenWeights!);
        Assert.Equal(50256, tokens[2]);
        Assert.Null(ContinuedPretrainingFineTuner.Tokenize([new TrainingExample { Input = "a b" }], DecoderTokenizer.Gpt2).Weights);

        var ex = Assert.Throws<InvalidDataFileException>(() => InstructionFineTuner.Render(new TrainingExample { Input = "x", Output = "y", Weight = 0, Origin = "data.jsonl:7" }, InstructionPromptFormat.Alpaca, DecoderTokenizer.Gpt2));
        Assert.Contains("data.jsonl:7", ex.Message, StringComparison.Ordinal);
        Assert.Contains("weight 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChatRendering_LearnsAssistantTurnsOnly()
    {
        var example = new TrainingExample
        {
            Input = "hi",
            Messages = [new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "hi"), new ChatMessage(ChatRole.Assistant, "Hello")],
        };
        var rendered = InstructionFineTuner.Render(example, InstructionPromptFormat.Alpaca, DecoderTokenizer.Gpt2);
        var learned = rendered.Tokens.Where((_, i) => rendered.LossMask[i]).ToArray();
        Assert.Equal([.. FineTuningTokens.Ids("Hello"), 50256], learned);
    }
}

internal static class FineTuningTokens
{
    private static readonly Microsoft.ML.Tokenizers.Tokenizer s_gpt2 = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt2");

    public static int Count(string text) => s_gpt2.CountTokens(text);

    public static int[] Ids(string text) => [.. s_gpt2.EncodeToIds(text)];
}
