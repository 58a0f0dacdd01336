using System.Text.Json.Nodes;
using LlmAdapt.Generation;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Models.Llama;

namespace LlmAdapt.Training.Tests.FineTuning;

/// <summary>The engine's sampler: a key/value-cached step per token, the shared TokenSampler, end-of-sequence stops.</summary>
public sealed class DecoderSamplerTests
{
    public static TheoryData<string> Models => ["gpt2", "llama", "llama-lora"];

    private static DecoderModel<float> Create(string kind)
    {
        DecoderModel<float> model = kind == "gpt2"
            ? new Gpt2Model<float>(new Gpt2Config { VocabSize = 31, ContextLength = 8, Layers = 2, Heads = 2, Channels = 16 })
            : new LlamaModel<float>(new LlamaConfig { VocabSize = 31, ContextLength = 8, Layers = 2, Heads = 4, KeyValueHeads = 2, Channels = 16, IntermediateSize = 24, TieWordEmbeddings = false });
        model.InitializeRandom(11);

        // Larger weights than the initialisation's, so the logits are far from uniform and the arg-max is clear.
        var random = new Random(12);
        var p = model.Parameters.Span;
        for (var i = 0; i < p.Length; i++)
        {
            p[i] += (float)((random.NextDouble() - 0.5) * 0.6);
        }

        if (kind == "llama-lora")
        {
            var lora = model.AttachLora(new LoraOptions { Rank = 2, Alpha = 4, Dropout = 0.1 }, seed: 13);
            var values = lora.Parameters.Span;
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)((random.NextDouble() - 0.5) * 0.5);
            }
        }

        return model;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CachedSteps_GiveTheForwardsProbabilities_AtEveryPosition(string kind)
    {
        var model = Create(kind);
        int[] tokens = [3, 17, 5, 29, 0, 12, 8, 21];
        var cache = model.CreateCache();
        var stepProbabilities = new List<float[]>();
        for (var i = 0; i < tokens.Length; i++)
        {
            var logits = model.DecodeStep(tokens[i], i, cache).ToArray();
            var max = logits.Max();
            var exp = logits.Select(l => Math.Exp(l - max)).ToArray();
            stepProbabilities.Add([.. exp.Select(e => (float)(e / exp.Sum()))]);
        }

        model.Forward(tokens, null, 1, tokens.Length);
        var forward = model.Probabilities.Span;
        for (var i = 0; i < tokens.Length; i++)
        {
            for (var v = 0; v < model.VocabSize; v++)
            {
                // Within 1e-6 (float round-off of two different summation orders), not "equal to 5 places", which
                // fails whenever a value sits on a rounding boundary (0.0621750131 vs 0.0621749945).
                Assert.InRange(Math.Abs(forward[(i * model.VocabSize) + v] - stepProbabilities[i][v]), 0, 1e-6);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void GreedyWithTheCache_EqualsGreedyWithTheUncachedForward_PastTheContextToo(string kind)
    {
        var model = Create(kind);
        int[] prompt = [4, 9, 1];
        const int newTokens = 12; // the context is 8: the last 7 steps slide the window

        // Reference: the whole window through Forward for every token (the evaluator's sampler before the cache).
        var tokens = new List<int>(prompt);
        var window = new int[model.ContextLength];
        for (var step = 0; step < newTokens; step++)
        {
            var start = Math.Max(0, tokens.Count - model.ContextLength);
            var count = tokens.Count - start;
            Array.Clear(window);
            tokens.CopyTo(start, window, 0, count);
            model.Forward(window, null, 1, model.ContextLength);
            tokens.Add(System.Numerics.Tensors.TensorPrimitives.IndexOfMax(model.Probabilities.Span.Slice((count - 1) * model.VocabSize, model.VocabSize)));
        }

        var (generated, endOfSequence) = DecoderSampler.Generate(model, prompt, newTokens, new TokenSampler(0, 0, 1, 1, null, model.VocabSize), new HashSet<int>(), CancellationToken.None);
        Assert.False(endOfSequence);
        Assert.Equal(tokens.Skip(prompt.Length), generated);
        Assert.True(generated.Distinct().Count() > 1, "a constant sequence would not tell the two apart");
    }

    [Fact]
    public void EndOfSequence_StopsTheRun_AndIsCountedOnce()
    {
        var model = Create("gpt2");
        int[] prompt = [4, 9, 1];
        var greedy = new TokenSampler(0, 0, 1, 1, null, model.VocabSize);
        var (free, _) = DecoderSampler.Generate(model, prompt, 10, greedy, new HashSet<int>(), CancellationToken.None);

        // The third greedy token becomes the end-of-sequence id: the run stops right there.
        var eos = free[2];
        var firstAt = free.IndexOf(eos);
        var (stopped, endOfSequence) = DecoderSampler.Generate(model, prompt, 10, new TokenSampler(0, 0, 1, 1, null, model.VocabSize), new HashSet<int> { eos }, CancellationToken.None);
        Assert.True(endOfSequence);
        Assert.Equal(free.Take(firstAt + 1), stopped);
    }

    [Fact]
    public async Task SampleAsync_OnACheckpoint_StopsAtConfigsEosTokenId_AndLeavesItOutOfTheText()
    {
        // A GPT-2-vocabulary checkpoint (the engine's tokenizer); its config.json then names the third greedy token as eos_token_id.
        var dir = TestData.TempDirectory();
        var model = new Gpt2Model<float>(new Gpt2Config { VocabSize = 50257, ContextLength = 16, Layers = 1, Heads = 2, Channels = 8 });
        model.InitializeRandom(21);
        await DecoderCheckpoint.SaveAsync(model, dir, CancellationToken.None);

        var free = await DecoderEvaluator.SampleAsync(dir, "Once upon a time", maxNewTokens: 6, temperature: 0);
        Assert.Equal(6, free.GeneratedTokens);
        Assert.False(free.EndOfSequence);

        var tokenizer = LlmAdapt.Training.Data.DecoderTokenizer.Gpt2;
        var prompt = tokenizer.Encode("Once upon a time");
        var loaded = await DecoderCheckpoint.LoadAsync(dir, CancellationToken.None);
        var (ids, _) = DecoderSampler.Generate(loaded, prompt, 6, new TokenSampler(0, 0, 1, 1, null, loaded.VocabSize), new HashSet<int>(), CancellationToken.None);
        Assert.Equal(tokenizer.Decode(prompt.Concat(ids)), free.Text);
        var eos = ids[2];
        var at = ids.IndexOf(eos);
        var file = Path.Combine(dir, "config.json");
        var json = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsObject();
        json["eos_token_id"] = eos;
        await File.WriteAllTextAsync(file, json.ToJsonString());

        var stopped = await DecoderEvaluator.SampleAsync(dir, "Once upon a time", maxNewTokens: 6, temperature: 0);
        Assert.True(stopped.EndOfSequence);
        Assert.Equal(at + 1, stopped.GeneratedTokens);
        Assert.Equal(tokenizer.Decode(prompt.Concat(ids.Take(at))), stopped.Text);
    }

    [Fact]
    public async Task SampleAsync_FromAnEmptyPrompt_LeavesTheStartTokenOutOfTheText()
    {
        // A GPT-2 checkpoint (GPT-2's vocabulary, no beginning-of-text token): an empty prompt starts from <|endoftext|>.
        var dir = await TinyCheckpoints.Gpt2Async(contextLength: 16, seed: 3);

        var sample = await DecoderEvaluator.SampleAsync(dir, string.Empty, maxNewTokens: 4, temperature: 0);
        var withPrompt = await DecoderEvaluator.SampleAsync(dir, "Hello", maxNewTokens: 4, temperature: 0);

        Assert.DoesNotContain("<|endoftext|>", sample.Text, StringComparison.Ordinal);
        Assert.True(sample.GeneratedTokens > 0);
        Assert.StartsWith("Hello", withPrompt.Text, StringComparison.Ordinal);
    }
}
