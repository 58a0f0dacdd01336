using System.Text.Json;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using Xunit.Abstractions;
using static LlmAdapt.Onnx.Tests.Export.LogitChecks;
using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// The exported Llama graph against an independent float64 forward of the same weights (full sequence, KV cache,
/// left-padded batch, LoRA merged), then the generation client and ONNX Runtime GenAI decoding the exported folder.
/// </summary>
public sealed class LlamaRoundTripTests(LlamaExportFixture fixture, ITestOutputHelper output) : IClassFixture<LlamaExportFixture>
{
    private const double Tolerance = 1e-4;
    private const int V = LlamaExportFixture.Vocab;

    [Fact]
    public void Export_WritesLlamaGenAIConfig_AndCopiesTheCheckpointsTokenizer()
    {
        var result = fixture.Result!;
        Assert.Equal(LlamaExportFixture.Layers, result.Layers);
        Assert.Equal(fixture.Model.Tensors.Values.Sum(t => (long)t.Values.Length), result.ParameterCount);
        Assert.Equal(7 * LlamaExportFixture.Layers, fixture.LoraResult!.MergedLoraModules);
        Assert.Equal(LlamaExportFixture.TokenizerFiles.Order(StringComparer.Ordinal), result.TokenizerFiles.Order(StringComparer.Ordinal));
        foreach (var file in LlamaExportFixture.TokenizerFiles)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(fixture.Checkpoint, file)), File.ReadAllBytes(Path.Combine(fixture.Exported, file)));
        }

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Exported, "genai_config.json")));
        var model = config.RootElement.GetProperty("model");
        var decoder = model.GetProperty("decoder");
        Assert.Equal("llama", model.GetProperty("type").GetString());
        Assert.Equal((1, 2), (model.GetProperty("bos_token_id").GetInt32(), model.GetProperty("eos_token_id").GetInt32()));
        Assert.Equal(LlamaExportFixture.Context, model.GetProperty("context_length").GetInt32());
        Assert.Equal(LlamaExportFixture.Heads, decoder.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(LlamaExportFixture.KvHeads, decoder.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal(LlamaExportFixture.Channels / LlamaExportFixture.Heads, decoder.GetProperty("head_size").GetInt32());
        Assert.False(config.RootElement.TryGetProperty("llmadapt_note", out _));
    }

    [Fact]
    public void FullSequence_LogitsEqualFloat64Forward()
    {
        var random = new Random(1);
        const int t = 40;
        int[][] rows = [RandomTokens(random, t, V), RandomTokens(random, t, V)];
        using var session = Session(fixture.Exported);
        var (logits, presents, _) = session.Step(Longs(rows.SelectMany(r => r)), [.. Positions(t), .. Positions(t)], Ones(2 * t), batch: 2, past: null, pastLength: 0);
        var max = 0.0;
        for (var r = 0; r < rows.Length; r++)
        {
            max = Math.Max(max, MaxAbsDiff(fixture.Model.Forward(rows[r], withLora: false), logits.AsSpan(r * t * V, t * V)));
        }

        output.WriteLine($"Llama full sequence (batch 2 × {t}): max |Δlogit| = {max:E2}; logit spread {logits.Max() - logits.Min():F2}");
        Assert.InRange(max, 0, Tolerance);
        Assert.True(logits.Max() - logits.Min() > 5, "the logits should spread over several units, or a wrong op could hide");

        // The cache keeps num_key_value_heads heads, not num_attention_heads.
        Assert.Equal(2 * LlamaExportFixture.KvHeads * t * 8, presents[0].Length);
    }

    [Fact]
    public void WithCache_PrefixThenOneTokenAtATime_LogitsEqualFloat64Forward()
    {
        var tokens = RandomTokens(new Random(2), 30, V);
        var expected = fixture.Model.Forward(tokens, withLora: false);
        using var session = Session(fixture.Exported);
        const int prefix = 11;
        var (logits, presents, total) = session.Step(Longs(tokens[..prefix]), Positions(prefix), Ones(prefix), 1, null, 0);
        var max = MaxAbsDiff(expected.AsSpan(0, prefix * V), logits);
        for (var i = prefix; i < tokens.Length; i++)
        {
            (logits, presents, total) = session.Step([tokens[i]], [i], Ones(total + 1), 1, presents, total);
            max = Math.Max(max, MaxAbsDiff(expected.AsSpan(i * V, V), logits));
        }

        output.WriteLine($"Llama KV cache (prefix {prefix}, then {tokens.Length - prefix} single steps): max |Δlogit| = {max:E2}");
        Assert.Equal(tokens.Length, total);
        Assert.InRange(max, 0, Tolerance);
    }

    [Fact]
    public void WithCache_LeftPaddedBatch_EachRowEqualsItsOwnForward()
    {
        var random = new Random(3);
        int[][] prompts = [RandomTokens(random, 12, V), RandomTokens(random, 5, V)];
        int[][] continuations = [RandomTokens(random, 6, V), RandomTokens(random, 6, V)];
        using var session = Session(fixture.Exported);
        const int width = 12;
        var pads = prompts.Select(p => width - p.Length).ToArray();
        var ids = new long[2 * width];
        var positions = new long[2 * width];
        for (var r = 0; r < 2; r++)
        {
            for (var t = 0; t < width; t++)
            {
                var real = t >= pads[r];
                ids[(r * width) + t] = real ? prompts[r][t - pads[r]] : 0;
                positions[(r * width) + t] = real ? t - pads[r] : 0;
            }
        }

        long[] Mask(int total) => [.. Enumerable.Range(0, 2 * total).Select(i => (i % total) < pads[i / total] ? 0L : 1L)];
        var (logits, presents, length) = session.Step(ids, positions, Mask(width), 2, null, 0);
        var expected = prompts.Zip(continuations, (p, c) => fixture.Model.Forward([.. p, .. c], withLora: false)).ToArray();
        var max = 0.0;
        for (var r = 0; r < 2; r++)
        {
            for (var t = pads[r]; t < width; t++)
            {
                max = Math.Max(max, MaxAbsDiff(expected[r].AsSpan((t - pads[r]) * V, V), logits.AsSpan(((r * width) + t) * V, V)));
            }
        }

        for (var s = 0; s < continuations[0].Length; s++)
        {
            (logits, presents, length) = session.Step([continuations[0][s], continuations[1][s]], [prompts[0].Length + s, prompts[1].Length + s], Mask(length + 1), 2, presents, length);
            for (var r = 0; r < 2; r++)
            {
                max = Math.Max(max, MaxAbsDiff(expected[r].AsSpan((prompts[r].Length + s) * V, V), logits.AsSpan(r * V, V)));
            }
        }

        output.WriteLine($"Llama left-padded batch with cache: max |Δlogit| = {max:E2}");
        Assert.InRange(max, 0, Tolerance);
    }

    [Fact]
    public void LoraMerged_LogitsEqualUnmergedLoraForward()
    {
        var tokens = RandomTokens(new Random(4), 24, V);
        using var session = Session(fixture.ExportedLora);
        var (logits, _, _) = session.Step(Longs(tokens), Positions(tokens.Length), Ones(tokens.Length), 1, null, 0);
        var max = MaxAbsDiff(fixture.Model.Forward(tokens, withLora: true), logits);
        var change = MaxAbsDiff(fixture.Model.Forward(tokens, withLora: false), logits);
        output.WriteLine($"Llama LoRA merged (rank 4, alpha {LlamaExportFixture.LoraAlpha}, 7 projections × {LlamaExportFixture.Layers} layers): max |Δlogit| = {max:E2}; the adapter moves logits by up to {change:F2}");
        Assert.InRange(max, 0, Tolerance);
        Assert.True(change > 0.1, $"the adapter should change the logits; it moved them by {change}.");
    }

    [Fact]
    public void GenerationClient_GreedyIds_EqualOrtGenAI_AloneAndInALeftPaddedBatch()
    {
        const int newTokens = 20;
        foreach (var folder in new[] { fixture.Exported, fixture.ExportedLora })
        {
            using var ours = OnnxDecoderModel.Load(folder);
            Assert.Equal((LlamaExportFixture.Context, LlamaExportFixture.Layers, V), (ours.ContextLength, ours.LayerCount, ours.VocabularySize));
            int[][] prompts = [[.. ours.Encode("The quick brown fox")], [.. ours.Encode("Once upon a time there was a little")], [1, 306]];
            var batch = ours.Generate(prompts, new GenerationOptions { MaxNewTokens = newTokens });

            using var genai = new OrtGenAI.Model(folder);
            for (var i = 0; i < prompts.Length; i++)
            {
                var expected = OrtGenAIGreedy.Sequence(genai, prompts[i], newTokens);
                var alone = ours.Generate(prompts[i], new GenerationOptions { MaxNewTokens = newTokens });
                output.WriteLine($"{Path.GetFileName(folder)} prompt {i}: {string.Join(",", expected.Skip(prompts[i].Length))}");
                Assert.Equal(prompts[i].Length + newTokens, expected.Length);
                Assert.Equal(expected, alone.Sequence);
                Assert.Equal(expected, batch[i].Sequence);
            }
        }
    }

    [Fact]
    public void OrtGenAI_PaddedBatch_EachRowEqualsTheClientAlone()
    {
        // ONNX Runtime GenAI 0.18 pads the shorter prompt on the right with pad_token_id, masks those slots through
        // attention_mask (so they stay as a hole in the cache between prompt and continuation) and continues
        // position_ids from the prompt's real tokens; each row must decode as it does alone.
        const int newTokens = 12;
        using var genai = new OrtGenAI.Model(fixture.Exported);
        using var tokenizer = new OrtGenAI.Tokenizer(genai);
        using var sequences = tokenizer.EncodeBatch(["Hello", "The quick brown fox jumps over the lazy dog"]);
        var rows = Enumerable.Range(0, 2).Select(i => sequences[(ulong)i].ToArray()).ToArray();
        var width = rows.Max(r => r.Length);
        Assert.NotEqual(rows[0].Length, rows[1].Length);
        using var parameters = new OrtGenAI.GeneratorParams(genai);
        parameters.SetSearchOption("batch_size", 2);
        parameters.SetSearchOption("max_length", width + newTokens);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new OrtGenAI.Generator(genai, parameters);
        generator.AppendTokenSequences(sequences);
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
        }

        using var ours = OnnxDecoderModel.Load(fixture.Exported);
        for (var i = 0; i < 2; i++)
        {
            var batched = generator.GetSequence((ulong)i).ToArray();
            output.WriteLine($"row {i}: {string.Join(",", batched)}");
            Assert.Equal(rows[i], batched[..rows[i].Length]);
            Assert.All(batched[rows[i].Length..width], id => Assert.Equal(2, id));
            var alone = ours.Generate(rows[i], new GenerationOptions { MaxNewTokens = newTokens }).TokenIds;
            Assert.Equal(alone, batched[width..]);
        }
    }

    [Fact]
    public void GreedyIds_FollowTheFloat64Forward()
    {
        using var ours = OnnxDecoderModel.Load(fixture.Exported);
        int[] prompt = [1, 450, 4996, 17354];
        var generated = ours.Generate(prompt, new GenerationOptions { MaxNewTokens = 8 }).Sequence;
        var logits = fixture.Model.Forward(generated, withLora: false);
        for (var i = prompt.Length; i < generated.Count; i++)
        {
            var row = logits.AsSpan((i - 1) * V, V);
            Assert.Equal(row.IndexOf(row.ToArray().Max()), generated[i]);
        }
    }

    [Fact]
    public void CopiedTokenizer_EncodesAsOrtGenAI()
    {
        const string text = "Hello world, café and naïve 日本語";
        using var ours = OnnxDecoderModel.Load(fixture.Exported);
        using var genai = new OrtGenAI.Model(fixture.Exported);
        using var tokenizer = new OrtGenAI.Tokenizer(genai);
        using var sequences = tokenizer.Encode(text);

        // tokenizer_config.json says add_bos_token: true, which we honour and ONNX Runtime GenAI's Encode does not.
        var encoded = ours.Encode(text);
        Assert.Equal(1, encoded[0]);
        Assert.Equal(sequences[0].ToArray(), encoded.Skip(1));
        Assert.Equal(text, ours.Decode(encoded));
    }

    private static ExportedSession Session(string folder)
        => new(folder, LlamaExportFixture.Layers, LlamaExportFixture.KvHeads, LlamaExportFixture.Channels / LlamaExportFixture.Heads, V);
}
