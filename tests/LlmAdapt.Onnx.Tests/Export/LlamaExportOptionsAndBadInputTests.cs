using LlmAdapt.Formats;
using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using Microsoft.ML.Tokenizers;
using Xunit.Abstractions;
using static LlmAdapt.Onnx.Tests.Export.LogitChecks;
using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>Llama variants (tied head, one key/value head, another rotary base, external data), which tokenizer the export carries, and configs it refuses.</summary>
public sealed class LlamaExportOptionsAndBadInputTests(ITestOutputHelper output) : IDisposable
{
    private const int Gpt2Vocabulary = 50257;

    private readonly string _dir = TinyGpt2.NewDirectory("llama-options");
    private readonly ITestOutputHelper _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TiedHead_SingleKeyValueHead_OtherRopeTheta_ExternalData_LogitsEqualFloat64Forward()
    {
        var model = new TinyLlama(vocab: 211, context: 24, layers: 2, heads: 4, kvHeads: 1, channels: 16, intermediate: 40, seed: 23, tied: true, ropeTheta: 500000, rmsEps: 1e-6);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), new OnnxExportOptions { ExternalDataThresholdBytes = 0 }, CancellationToken.None);
        Assert.NotNull(result.ExternalDataPath);
        Assert.Equal(model.Tensors.Values.Sum(t => (long)t.Values.Length), result.ParameterCount);

        var tokens = Enumerable.Range(0, 24).Select(i => (i * 53) % 211).ToArray();
        using var session = new ExportedSession(result.OutputDirectory, 2, 1, 4, 211);
        var (logits, presents, total) = session.Step(Longs(tokens[..20]), Positions(20), Ones(20), 1, null, 0);
        var expected = model.Forward(tokens, withLora: false);
        var max = MaxAbsDiff(expected.AsSpan(0, 20 * 211), logits);
        for (var i = 20; i < 24; i++)
        {
            (logits, presents, total) = session.Step([tokens[i]], [i], Ones(total + 1), 1, presents, total);
            max = Math.Max(max, MaxAbsDiff(expected.AsSpan(i * 211, 211), logits));
        }

        Assert.InRange(max, 0, 1e-4);
        using var loaded = OnnxDecoderModel.Load(result.OutputDirectory);
        Assert.Equal((211, 24), (loaded.VocabularySize, loaded.ContextLength));
    }

    [Fact]
    public async Task Float16Weights_HalveTheFile_LogitsEqualTheForwardOfTheRoundedWeights_AndDecodersAgree()
    {
        var model = new TinyLlama(vocab: 509, context: 32, layers: 2, heads: 4, kvHeads: 2, channels: 32, intermediate: 64, seed: 31);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var full = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "fp32"), null, CancellationToken.None);
        var half = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "fp16"), new OnnxExportOptions { Float16Weights = true }, CancellationToken.None);
        var ratio = (double)new FileInfo(half.ModelPath).Length / new FileInfo(full.ModelPath).Length;
        Assert.InRange(ratio, 0.45, 0.6);

        var tokens = Enumerable.Range(0, 32).Select(i => (i * 71) % 509).ToArray();
        using var session = new ExportedSession(half.OutputDirectory, 2, 2, 8, 509);
        var (logits, _, _) = session.Step(Longs(tokens), Positions(32), Ones(32), 1, null, 0);
        var fromFloat32 = model.Forward(tokens, withLora: false);
        foreach (var (name, (values, shape)) in model.Tensors.ToList())
        {
            model.Tensors[name] = ([.. values.Select(v => (float)(Half)v)], shape);
        }

        var fromRounded = MaxAbsDiff(model.Forward(tokens, withLora: false), logits);
        var fromOriginal = MaxAbsDiff(fromFloat32, logits);
        _output.WriteLine($"fp16 weights: model.onnx {ratio:P0} of fp32; max |Δlogit| vs float64 forward of the rounded weights {fromRounded:E2}, vs the fp32 weights {fromOriginal:E2} (logit spread {logits.Max() - logits.Min():F1})");
        Assert.InRange(fromRounded, 0, 1e-4);
        Assert.InRange(fromOriginal, 0, 0.05);

        int[] prompt = [1, 2, 3];
        using var ours = OnnxDecoderModel.Load(half.OutputDirectory);
        var generated = ours.Generate(prompt, new GenerationOptions { MaxNewTokens = 12 }).Sequence;
        using var genai = new OrtGenAI.Model(half.OutputDirectory);
        Assert.Equal(generated, OrtGenAIGreedy.Sequence(genai, prompt, 12));
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("linear")]
    public async Task RopeScaling_LogitsEqualFloat64ForwardWithTheScaledFrequencies(string type)
    {
        // Head size 8: wavelengths 6.3, 63, 628 and 6,283 positions; with original context 1000, low 1 and high 20 the
        // llama3 rule keeps the first, blends the middle two and divides the last by the factor.
        var scaling = (type, 8.0, 1.0, 20.0, 1000.0);
        var model = new TinyLlama(vocab: 173, context: 24, layers: 2, heads: 4, kvHeads: 2, channels: 32, intermediate: 48, seed: 41) { RopeScaling = scaling };
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None);

        var tokens = Enumerable.Range(0, 24).Select(i => (i * 29) % 173).ToArray();
        using var session = new ExportedSession(result.OutputDirectory, 2, 2, 8, 173);
        var (logits, presents, total) = session.Step(Longs(tokens[..16]), Positions(16), Ones(16), 1, null, 0);
        var expected = model.Forward(tokens, withLora: false);
        var max = MaxAbsDiff(expected.AsSpan(0, 16 * 173), logits);
        for (var i = 16; i < 24; i++)
        {
            (logits, presents, total) = session.Step([tokens[i]], [i], Ones(total + 1), 1, presents, total);
            max = Math.Max(max, MaxAbsDiff(expected.AsSpan(i * 173, 173), logits));
        }

        var unscaled = new TinyLlama(vocab: 173, context: 24, layers: 2, heads: 4, kvHeads: 2, channels: 32, intermediate: 48, seed: 41).Forward(tokens, withLora: false);
        var effect = expected.Zip(unscaled, (a, b) => Math.Abs(a - b)).Max();
        _output.WriteLine($"rope_scaling {type}: max |Δlogit| {max:E2}; scaling moves the float64 logits by up to {effect:F3}");
        Assert.InRange(max, 0, 1e-4);
        Assert.True(effect > 1e-2, $"the scaling should change the logits; it moved them by {effect}.");
    }

    [Fact]
    public async Task EosTokenIdList_GoesToGenAIConfig_AndBothDecodersReadIt()
    {
        // Llama 3 instruct configs list several end-of-sequence ids.
        var model = new TinyLlama(vocab: 97, context: 16, layers: 1, heads: 2, kvHeads: 1, channels: 8, intermediate: 16, seed: 2);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var configPath = Path.Combine(checkpoint, "config.json");
        var text = await File.ReadAllTextAsync(configPath);
        Assert.Contains("\"eos_token_id\": 2", text, StringComparison.Ordinal);

        // The list holds the third id greedy decoding gives after [1, 2, 3] with eos 2 alone, so both decoders must stop
        // there, and only if they read the whole list.
        int[] prompt = [1, 2, 3];
        var single = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx-single-eos"), null, CancellationToken.None);
        int stop;
        using (var plain = OnnxDecoderModel.Load(single.OutputDirectory))
        {
            var free = plain.Generate(prompt, new GenerationOptions { MaxNewTokens = 8 }).TokenIds;
            Assert.True(free.Count >= 3 && !free.Take(3).Contains(2), $"greedy ids {string.Join(",", free)}");
            stop = free[2];
        }

        await File.WriteAllTextAsync(configPath, text.Replace("\"eos_token_id\": 2", $"\"eos_token_id\": [2, {stop}, 7]", StringComparison.Ordinal));
        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None);
        using (var genaiConfig = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(result.OutputDirectory, "genai_config.json"))))
        {
            Assert.Equal([2, stop, 7], genaiConfig.RootElement.GetProperty("model").GetProperty("eos_token_id").EnumerateArray().Select(e => e.GetInt32()));
        }

        using var ours = OnnxDecoderModel.Load(result.OutputDirectory);
        Assert.Equal([2, stop, 7], ours.EosTokenIds);
        var stopped = ours.Generate(prompt, new GenerationOptions { MaxNewTokens = 8 });
        Assert.Equal(GenerationFinishReason.EndOfSequence, stopped.FinishReason);
        Assert.Equal(stop, stopped.TokenIds[^1]);
        Assert.True(stopped.TokenIds.Count <= 3);

        using var genai = new OrtGenAI.Model(result.OutputDirectory);
        // GenAI stops at the same id; its sequence leaves that id out, ours keeps it in TokenIds.
        Assert.Equal(stopped.Sequence.SkipLast(1), OrtGenAIGreedy.Sequence(genai, prompt, 8));
    }

    [Fact]
    public async Task ShardedCheckpoint_ExportsTheSameGraphAsOneFile_AndABadIndexIsNamed()
    {
        var model = new TinyLlama(vocab: 97, context: 8, layers: 2, heads: 2, kvHeads: 1, channels: 8, intermediate: 16, seed: 6);
        var single = await model.SaveAsync(Path.Combine(_dir, "single"));
        var sharded = await model.SaveAsync(Path.Combine(_dir, "sharded"));
        File.Delete(Path.Combine(sharded, "model.safetensors"));

        // Layer 0 and the embedding in one shard, the rest in the other, as Hugging Face's save_pretrained splits them.
        var map = new System.Text.Json.Nodes.JsonObject();
        var first = new SafeTensorsWriter();
        var second = new SafeTensorsWriter();
        foreach (var (name, (values, shape)) in model.Tensors)
        {
            var toFirst = name.StartsWith("model.embed_tokens", StringComparison.Ordinal) || name.StartsWith("model.layers.0.", StringComparison.Ordinal);
            (toFirst ? first : second).Add(name, values, shape);
            map[name] = toFirst ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
        }

        await first.WriteAsync(Path.Combine(sharded, "model-00001-of-00002.safetensors"));
        await second.WriteAsync(Path.Combine(sharded, "model-00002-of-00002.safetensors"));
        var index = Path.Combine(sharded, "model.safetensors.index.json");
        await File.WriteAllTextAsync(index, new System.Text.Json.Nodes.JsonObject { ["metadata"] = new System.Text.Json.Nodes.JsonObject(), ["weight_map"] = map }.ToJsonString());

        var a = await OnnxDecoderExporter.ExportAsync(single, Path.Combine(_dir, "onnx-single"), null, CancellationToken.None);
        var b = await OnnxDecoderExporter.ExportAsync(sharded, Path.Combine(_dir, "onnx-sharded"), null, CancellationToken.None);
        Assert.Equal(a.ParameterCount, b.ParameterCount);
        Assert.Equal(await File.ReadAllBytesAsync(a.ModelPath), await File.ReadAllBytesAsync(b.ModelPath));

        File.Delete(Path.Combine(sharded, "model-00002-of-00002.safetensors"));
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => OnnxDecoderExporter.ExportAsync(sharded, Path.Combine(_dir, "onnx-broken"), null, CancellationToken.None));
        Assert.Contains(index, ex.Message, StringComparison.Ordinal);
        Assert.Contains("model-00002-of-00002.safetensors", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EngineVocabulary_WithoutTokenizerFiles_GetsGpt2sTokenizer()
    {
        var model = new TinyLlama(vocab: Gpt2Vocabulary, context: 16, layers: 1, heads: 2, kvHeads: 1, channels: 8, intermediate: 16, seed: 3, tied: true) { BosTokenId = 50256, EosTokenId = 50256 };
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None);

        Assert.Equal(Gpt2TokenizerFiles.FileNames.Order(StringComparer.Ordinal), result.TokenizerFiles.Order(StringComparer.Ordinal));
        using var loaded = OnnxDecoderModel.Load(result.OutputDirectory);
        const string text = "The quick brown fox jumps over the lazy dog.";
        Assert.Equal(TiktokenTokenizer.CreateForModel("gpt2").EncodeToIds(text), loaded.Encode(text));
    }

    [Fact]
    public async Task CheckpointWithItsOwnTokenizer_IsCopied_NotReplacedByGpt2s()
    {
        // A GPT-2-sized vocabulary would get GPT-2's tokenizer.json written; the checkpoint's own files win.
        var model = new TinyGpt2(vocab: Gpt2Vocabulary, context: 8, layers: 1, heads: 2, channels: 8, seed: 4);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        string[] own = ["tokenizer.json", "tokenizer_config.json", "vocab.json"];
        foreach (var file in own)
        {
            File.Copy(Path.Combine(GenerationModels.Gpt2Directory, file), Path.Combine(checkpoint, file));
        }

        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None);
        Assert.Equal(own.Order(StringComparer.Ordinal), result.TokenizerFiles.Order(StringComparer.Ordinal));
        foreach (var file in own)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(checkpoint, file)), File.ReadAllBytes(Path.Combine(result.OutputDirectory, file)));
        }
    }

    [Fact]
    public async Task TensorShapeDisagreesWithConfig_NamesTheTensorAndBothShapes()
    {
        var model = new TinyLlama(vocab: 97, context: 8, layers: 2, heads: 4, kvHeads: 2, channels: 16, intermediate: 24, seed: 1);

        // The k projection saved with every query head instead of the two key/value heads.
        model.Tensors["model.layers.1.self_attn.k_proj.weight"] = (new float[16 * 16], [16, 16]);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var output = Path.Combine(_dir, "onnx");

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, output, null, CancellationToken.None));
        Assert.Contains("model.layers.1.self_attn.k_proj.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[16, 16]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 16]", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task UntiedHeadMissing_IsNamed()
    {
        var model = new TinyLlama(vocab: 97, context: 8, layers: 1, heads: 2, kvHeads: 2, channels: 8, intermediate: 16, seed: 1);
        model.Tensors.Remove("lm_head.weight");
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None));
        Assert.Contains("lm_head.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[97, 8]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoraOnAModuleThatIsNotAProjection_OrKeptSeparateWithoutAnAdapter_IsRefused()
    {
        var model = new TinyLlama(vocab: 97, context: 8, layers: 1, heads: 2, kvHeads: 1, channels: 8, intermediate: 16, seed: 1);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var adapter = Path.Combine(_dir, "adapter");
        Directory.CreateDirectory(adapter);
        var writer = new SafeTensorsWriter();
        writer.Add("base_model.model.model.layers.0.input_layernorm.lora_A.weight", new float[2 * 8], [2, 8]);
        writer.Add("base_model.model.model.layers.0.input_layernorm.lora_B.weight", new float[8 * 2], [8, 2]);
        await writer.WriteAsync(Path.Combine(adapter, PeftAdapterConfig.WeightsFileName));
        await new PeftAdapterConfig { Rank = 2, Alpha = 4, TargetModules = ["input_layernorm"] }.WriteAsync(Path.Combine(adapter, PeftAdapterConfig.FileName));

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), new OnnxExportOptions { AdapterDirectory = adapter }, CancellationToken.None));
        Assert.Contains("model.layers.0.input_layernorm", ex.Message, StringComparison.Ordinal);
        Assert.Contains("self_attn.q_proj", ex.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<ArgumentException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), new OnnxExportOptions { KeepLoraSeparate = true }, CancellationToken.None));
        Assert.False(Directory.Exists(Path.Combine(_dir, "onnx")));
    }

    [Theory]
    [InlineData("\"num_key_value_heads\": 3", "num_attention_heads 4 is not a multiple of num_key_value_heads 3")]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}", "rope_scaling {")]
    [InlineData("\"hidden_act\": \"gelu\"", "hidden_act 'gelu'")]
    [InlineData("\"attention_bias\": true", "attention_bias")]
    public async Task UnsupportedConfig_IsRefusedWithTheNumbers(string entry, string expected)
    {
        var checkpoint = Path.Combine(_dir, "checkpoint");
        Directory.CreateDirectory(checkpoint);
        var config = $$"""
            { "model_type": "llama", "vocab_size": 97, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
              "num_attention_heads": 4, "max_position_embeddings": 16, {{entry}} }
            """;
        await File.WriteAllTextAsync(Path.Combine(checkpoint, "config.json"), config);

        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(checkpoint, "config.json"), ex.Message, StringComparison.Ordinal);
    }
}
