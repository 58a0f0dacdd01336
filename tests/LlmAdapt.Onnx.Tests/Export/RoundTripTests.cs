using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using LlmAdapt.Training.FineTuning;
using Microsoft.ML.Tokenizers;
using Xunit.Abstractions;
using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// The exported graph against the model it came from: logits against a float64 forward of the same weights (with and
/// without the KV cache, with and without LoRA), and against the training engine's own public evaluator and greedy
/// sampler; then the generation client and ONNX Runtime GenAI decoding the exported folder.
/// </summary>
public sealed class RoundTripTests(ExportFixture fixture, ITestOutputHelper output) : IClassFixture<ExportFixture>
{
    private const double Tolerance = 1e-4;
    private static readonly Lazy<Tokenizer> s_gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    [Fact]
    public void Export_WritesModelConfigAndNoTemporaryFolder()
    {
        var result = fixture.Result!;
        Assert.True(File.Exists(result.ModelPath));
        Assert.Null(result.ExternalDataPath);
        Assert.True(File.Exists(Path.Combine(fixture.Exported, "genai_config.json")));
        Assert.Equal(ExportFixture.Layers, result.Layers);
        Assert.Equal(fixture.Model.Tensors.Values.Sum(t => (long)t.Values.Length), result.ParameterCount);
        Assert.Equal(0, result.MergedLoraModules);
        Assert.Equal(4 * ExportFixture.Layers, fixture.LoraResult!.MergedLoraModules);
        Assert.DoesNotContain(Directory.EnumerateDirectories(fixture.Root), d => d.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void FullSequence_LogitsEqualFloat64Forward()
    {
        var random = new Random(1);
        int[][] rows = [RandomTokens(random, ExportFixture.Context), RandomTokens(random, ExportFixture.Context)];
        using var session = Session(fixture.Exported);
        var t = ExportFixture.Context;
        var (logits, _, _) = session.Step(
            [.. rows.SelectMany(r => r.Select(x => (long)x))],
            [.. rows.SelectMany(_ => Enumerable.Range(0, t).Select(i => (long)i))],
            [.. Enumerable.Repeat(1L, 2 * t)],
            batch: 2,
            past: null,
            pastLength: 0);
        var max = 0.0;
        for (var r = 0; r < rows.Length; r++)
        {
            var expected = fixture.Model.Forward(rows[r], withLora: false);
            max = Math.Max(max, LogitChecks.MaxAbsDiff(expected, logits.AsSpan(r * t * ExportFixture.Vocab, t * ExportFixture.Vocab)));
        }

        output.WriteLine($"full sequence (batch 2 × {t}): max |Δlogit| = {max:E2}; logit spread {Spread(logits):F2}");
        Assert.InRange(max, 0, Tolerance);
    }

    [Fact]
    public void WithCache_PrefixThenOneTokenAtATime_LogitsEqualFloat64Forward()
    {
        var tokens = RandomTokens(new Random(2), 24);
        var expected = fixture.Model.Forward(tokens, withLora: false);
        using var session = Session(fixture.Exported);
        var v = ExportFixture.Vocab;
        const int prefix = 9;
        var (logits, presents, total) = session.Step([.. tokens[..prefix].Select(x => (long)x)], [.. Enumerable.Range(0, prefix).Select(i => (long)i)], [.. Enumerable.Repeat(1L, prefix)], 1, null, 0);
        var max = LogitChecks.MaxAbsDiff(expected.AsSpan(0, prefix * v), logits);
        for (var i = prefix; i < tokens.Length; i++)
        {
            (logits, presents, total) = session.Step([tokens[i]], [i], [.. Enumerable.Repeat(1L, total + 1)], 1, presents, total);
            max = Math.Max(max, LogitChecks.MaxAbsDiff(expected.AsSpan(i * v, v), logits));
        }

        output.WriteLine($"KV cache (prefix {prefix}, then {tokens.Length - prefix} single steps): max |Δlogit| = {max:E2}");
        Assert.Equal(tokens.Length, total);
        Assert.InRange(max, 0, Tolerance);
    }

    [Fact]
    public void WithCache_LeftPaddedBatch_EachRowEqualsItsOwnForward()
    {
        var random = new Random(3);
        int[][] prompts = [RandomTokens(random, 10), RandomTokens(random, 4)];
        int[][] continuations = [RandomTokens(random, 5), RandomTokens(random, 5)];
        using var session = Session(fixture.Exported);
        var v = ExportFixture.Vocab;
        const int width = 10;
        var pads = prompts.Select(p => width - p.Length).ToArray();
        var ids = new long[2 * width];
        var positions = new long[2 * width];
        var mask = new List<long>();
        for (var r = 0; r < 2; r++)
        {
            for (var t = 0; t < width; t++)
            {
                var real = t >= pads[r];
                ids[(r * width) + t] = real ? prompts[r][t - pads[r]] : ExportFixture.Vocab - 1;
                positions[(r * width) + t] = real ? t - pads[r] : 0;
            }
        }

        long[] Mask(int total) => [.. Enumerable.Range(0, 2 * total).Select(i => (i % total) < pads[i / total] ? 0L : 1L)];
        var (logits, presents, length) = session.Step(ids, positions, Mask(width), 2, null, 0);
        var max = 0.0;
        var expected = prompts.Zip(continuations, (p, c) => fixture.Model.Forward([.. p, .. c], withLora: false)).ToArray();
        for (var r = 0; r < 2; r++)
        {
            max = Math.Max(max, LogitChecks.MaxAbsDiff(expected[r].AsSpan((prompts[r].Length - 1) * v, v), logits.AsSpan((((r * width) + width - 1) * v), v)));
        }

        for (var s = 0; s < 5; s++)
        {
            (logits, presents, length) = session.Step([continuations[0][s], continuations[1][s]], [prompts[0].Length + s, prompts[1].Length + s], Mask(length + 1), 2, presents, length);
            for (var r = 0; r < 2; r++)
            {
                max = Math.Max(max, LogitChecks.MaxAbsDiff(expected[r].AsSpan((prompts[r].Length + s) * v, v), logits.AsSpan(r * v, v)));
            }
        }

        output.WriteLine($"left-padded batch with cache: max |Δlogit| = {max:E2}");
        Assert.InRange(max, 0, Tolerance);
    }

    [Fact]
    public async Task Logits_GiveTheEnginesPerplexity()
    {
        await AssertEnginePerplexityAsync(fixture.Exported, fixture.Checkpoint);
    }

    [Fact]
    public async Task LoraMerged_LogitsEqualUnmergedLoraForward_AndTheEnginesLoraPerplexity()
    {
        var tokens = RandomTokens(new Random(4), ExportFixture.Context);
        using var session = Session(fixture.ExportedLora);
        var (logits, _, _) = session.Step([.. tokens.Select(x => (long)x)], [.. Enumerable.Range(0, tokens.Length).Select(i => (long)i)], [.. Enumerable.Repeat(1L, tokens.Length)], 1, null, 0);
        var withLora = fixture.Model.Forward(tokens, withLora: true);
        var max = LogitChecks.MaxAbsDiff(withLora, logits);
        var change = LogitChecks.MaxAbsDiff(fixture.Model.Forward(tokens, withLora: false), logits);
        output.WriteLine($"LoRA merged (rank 4, alpha {ExportFixture.LoraAlpha}, 4 projections × {ExportFixture.Layers} layers): max |Δlogit| = {max:E2}; the adapter moves logits by up to {change:F2}");
        Assert.InRange(max, 0, Tolerance);
        Assert.True(change > 0.1, $"the adapter should change the logits; it moved them by {change}.");

        // The engine loads the adapter folder on its base (unmerged) and scores the same text.
        await AssertEnginePerplexityAsync(fixture.ExportedLora, fixture.Adapter);
    }

    [Fact]
    public void LoraKeptSeparate_WithOrtLoraAdapter_LogitsEqualUnmergedLoraForward_AndOrtGenAIsAdapterGivesTheMergedIds()
    {
        var result = fixture.SeparateResult!;
        Assert.Equal(4 * ExportFixture.Layers, result.SeparateLoraModules);
        Assert.NotNull(result.ExternalDataPath);
        var tokens = RandomTokens(new Random(8), 16);
        using var session = Session(fixture.ExportedSeparate);
        using var adapter = Microsoft.ML.OnnxRuntime.OrtLoraAdapter.Create(result.AdapterPath!, null);
        var (logits, _, _) = session.Step([.. tokens.Select(x => (long)x)], [.. Enumerable.Range(0, 16).Select(i => (long)i)], [.. Enumerable.Repeat(1L, 16)], 1, null, 0, adapter);
        var max = LogitChecks.MaxAbsDiff(fixture.Model.Forward(tokens, withLora: true), logits);
        output.WriteLine($"GPT-2 LoRA kept separate, adapter active: max |Δlogit| = {max:E2}");
        Assert.InRange(max, 0, Tolerance);

        int[] prompt = [464, 2068, 7586, 21831];
        using var merged = OnnxDecoderModel.Load(fixture.ExportedLora);
        var expected = merged.Generate(prompt, new GenerationOptions { MaxNewTokens = 12 }).Sequence;
        using var genai = new OrtGenAI.Model(fixture.ExportedSeparate);
        using var adapters = new OrtGenAI.Adapters(genai);
        adapters.LoadAdapter(result.AdapterPath!, "lora");
        Assert.Equal(expected, OrtGenAIGreedy.Sequence(genai, prompt, 12, adapters, "lora"));
    }

    [Fact]
    public async Task AdapterFolderAsTheCheckpoint_ExportsTheSameModelAsBasePlusAdapter()
    {
        var dir = TinyGpt2.NewDirectory("from-adapter");
        try
        {
            var result = await OnnxDecoderExporter.ExportAsync(fixture.Adapter, Path.Combine(dir, "onnx"), null, CancellationToken.None);
            Assert.Equal(4 * ExportFixture.Layers, result.MergedLoraModules);
            var tokens = RandomTokens(new Random(6), 12);
            using var a = Session(result.OutputDirectory);
            using var b = Session(fixture.ExportedLora);
            long[] ids = [.. tokens.Select(x => (long)x)];
            long[] positions = [.. Enumerable.Range(0, 12).Select(i => (long)i)];
            long[] mask = [.. Enumerable.Repeat(1L, 12)];
            Assert.Equal(b.Step(ids, positions, mask, 1, null, 0).Logits, a.Step(ids, positions, mask, 1, null, 0).Logits);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task GenerationClient_GreedyIds_EqualTheEnginesGreedyLoop_AndOrtGenAI()
    {
        const string prompt = "The quick brown fox";
        const int newTokens = 16;
        var engineText = await DecoderEvaluator.GenerateAsync(fixture.Checkpoint, prompt, newTokens, temperature: 0);
        var promptIds = s_gpt2.Value.EncodeToIds(prompt).ToArray();

        using var model = OnnxDecoderModel.Load(fixture.Exported);
        Assert.Equal(ExportFixture.Context, model.ContextLength);
        Assert.Equal(ExportFixture.Layers, model.LayerCount);
        var ours = model.Generate(promptIds, new GenerationOptions { MaxNewTokens = newTokens });
        output.WriteLine($"engine: {engineText}\nours ids: {string.Join(",", ours.TokenIds)}");
        Assert.Equal(newTokens, ours.TokenIds.Count);
        Assert.Equal(engineText, s_gpt2.Value.Decode(ours.Sequence));

        using var genai = new OrtGenAI.Model(fixture.Exported);
        Assert.Equal(ours.Sequence, OrtGenAIGreedy.Sequence(genai, promptIds, newTokens));
    }

    [Fact]
    public async Task LoraExport_GreedyIds_EqualTheEnginesGreedyLoopOnTheAdapter()
    {
        const string prompt = "Once upon a time";
        var engineText = await DecoderEvaluator.GenerateAsync(fixture.Adapter, prompt, 12, temperature: 0);
        using var model = OnnxDecoderModel.Load(fixture.ExportedLora);
        var ours = model.Generate(s_gpt2.Value.EncodeToIds(prompt).ToArray(), new GenerationOptions { MaxNewTokens = 12 });
        Assert.Equal(engineText, s_gpt2.Value.Decode(ours.Sequence));
    }

    [Fact]
    public void EngineCheckpoint_GetsGpt2sTokenizerJson_SameVocabularyAndMergesAsHuggingFaces()
    {
        Assert.Equal(LlmAdapt.Formats.Gpt2TokenizerFiles.FileNames.Order(StringComparer.Ordinal), fixture.Result!.TokenizerFiles.Order(StringComparer.Ordinal));
        using var ours = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Exported, "tokenizer.json")));
        using var reference = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Generation.GenerationModels.Gpt2Directory, "tokenizer.json")));
        static Dictionary<string, int> Vocab(System.Text.Json.JsonDocument d) => d.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        static string[] Merges(System.Text.Json.JsonDocument d) => [.. d.RootElement.GetProperty("model").GetProperty("merges").EnumerateArray().Select(m => m.ValueKind == System.Text.Json.JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!)];
        Assert.Equal(Vocab(reference).OrderBy(p => p.Value), Vocab(ours).OrderBy(p => p.Value));
        Assert.Equal(Merges(reference), Merges(ours));
    }

    [Theory]
    [InlineData("The quick brown fox jumps over the lazy dog.")]
    [InlineData("café, naïve, 日本語 🙂\nnew line<|endoftext|>")]
    [InlineData("double  spaces,\ttabs\t\tand   runs\n\n    of whitespace  ")]
    public void ExportedTokenizer_EncodesAsTheEngine_AndAsOrtGenAI(string text)
    {
        using var model = OnnxDecoderModel.Load(fixture.Exported);
        var expected = s_gpt2.Value.EncodeToIds(text.Replace("<|endoftext|>", string.Empty, StringComparison.Ordinal)).ToList();
        var ids = model.Encode(text);
        Assert.Equal(expected, ids.Take(expected.Count));
        Assert.Equal(text.Replace("<|endoftext|>", string.Empty, StringComparison.Ordinal), model.Decode(ids));

        using var genai = new OrtGenAI.Model(fixture.Exported);
        using var tokenizer = new OrtGenAI.Tokenizer(genai);
        using var sequences = tokenizer.Encode(text);
        Assert.Equal(ids, sequences[0].ToArray());
    }

    private async Task AssertEnginePerplexityAsync(string exported, string engineModel)
    {
        const string text = "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, "
            + "it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness.";
        const int t = 16;
        var engine = await DecoderEvaluator.PerplexityAsync(engineModel, text, sequenceLength: t);

        // The same blocks the engine scores: non-overlapping windows of t tokens from the start, each predicting the next token.
        var tokens = s_gpt2.Value.EncodeToIds(text).ToArray();
        var blocks = (tokens.Length - 1) / t;
        using var session = Session(exported);
        var v = ExportFixture.Vocab;
        double sum = 0;
        for (var b = 0; b < blocks; b++)
        {
            var (logits, _, _) = session.Step(LogitChecks.Longs(tokens.AsSpan(b * t, t).ToArray()), LogitChecks.Positions(t), LogitChecks.Ones(t), 1, null, 0);
            for (var i = 0; i < t; i++)
            {
                sum += LogitChecks.NegativeLogLikelihood(logits.AsSpan(i * v, v), tokens[(b * t) + i + 1]);
            }
        }

        var ours = sum / (blocks * t);
        output.WriteLine($"{Path.GetFileName(exported)}: engine loss {engine.Loss:F6} over {engine.Tokens} tokens, ONNX loss {ours:F6} (|Δ| {Math.Abs(engine.Loss - ours):E2})");
        Assert.Equal(blocks * t, engine.Tokens);
        Assert.InRange(Math.Abs(engine.Loss - ours), 0, 1e-4);
    }

    private static ExportedSession Session(string folder) => new(folder, ExportFixture.Layers, ExportFixture.Heads, ExportFixture.Channels / ExportFixture.Heads, ExportFixture.Vocab);

    private static int[] RandomTokens(Random random, int count) => LogitChecks.RandomTokens(random, count, ExportFixture.Vocab);

    private static double Spread(float[] logits) => logits.Max() - logits.Min();
}
