using System.Text.Json;
using LlmAdapt.Formats;
using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>Variants (exact GELU, external data, tokenizer files, overwrite) and inputs the exporter must refuse, on a small vocabulary.</summary>
public sealed class ExportOptionsAndBadInputTests : IDisposable
{
    private readonly string _dir = TinyGpt2.NewDirectory("options");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ExactGelu_AndExternalData_LogitsEqualFloat64Forward()
    {
        var model = new TinyGpt2(vocab: 211, context: 16, layers: 2, heads: 2, channels: 16, seed: 21, activation: "gelu");
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), new OnnxExportOptions { ExternalDataThresholdBytes = 0 }, CancellationToken.None);

        Assert.NotNull(result.ExternalDataPath);
        Assert.True(new FileInfo(result.ExternalDataPath).Length >= result.ParameterCount * sizeof(float));
        Assert.True(new FileInfo(result.ModelPath).Length < 64 * 1024, "the weights should live in model.onnx.data");

        var tokens = Enumerable.Range(0, 16).Select(i => (i * 37) % 211).ToArray();
        using var session = new ExportedSession(result.OutputDirectory, 2, 2, 8, 211);
        var (logits, _, _) = session.Step([.. tokens.Select(x => (long)x)], [.. Enumerable.Range(0, 16).Select(i => (long)i)], [.. Enumerable.Repeat(1L, 16)], 1, null, 0);
        var expected = model.Forward(tokens, withLora: false);
        var max = expected.Select((e, i) => Math.Abs(e - logits[i])).Max();
        Assert.InRange(max, 0, 1e-4);

        // The generation client loads the external-data folder too.
        using var loaded = OnnxDecoderModel.Load(result.OutputDirectory);
        Assert.Equal(211, loaded.VocabularySize);
    }

    [Fact]
    public async Task Float16Weights_LogitsEqualTheFloat64ForwardOfTheRoundedWeights()
    {
        var model = new TinyGpt2(vocab: 211, context: 16, layers: 2, heads: 2, channels: 16, seed: 22);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), new OnnxExportOptions { Float16Weights = true }, CancellationToken.None);
        foreach (var (name, (values, shape)) in model.Tensors.ToList())
        {
            model.Tensors[name] = ([.. values.Select(v => (float)(Half)v)], shape);
        }

        var tokens = Enumerable.Range(0, 16).Select(i => (i * 41) % 211).ToArray();
        using var session = new ExportedSession(result.OutputDirectory, 2, 2, 8, 211);
        var (logits, _, _) = session.Step([.. tokens.Select(x => (long)x)], [.. Enumerable.Range(0, 16).Select(i => (long)i)], [.. Enumerable.Repeat(1L, 16)], 1, null, 0);
        Assert.InRange(LogitChecks.MaxAbsDiff(model.Forward(tokens, withLora: false), logits), 0, 1e-4);
    }

    [Fact]
    public async Task TokenizerFiles_AreCopied_AndGenAIConfigDescribesTheGraph()
    {
        var model = new TinyGpt2(vocab: 97, context: 8, layers: 1, heads: 2, channels: 8, seed: 1);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        await File.WriteAllTextAsync(Path.Combine(checkpoint, "tokenizer_config.json"), "{\"eos_token\": \"<|endoftext|>\"}");
        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None);

        Assert.Equal(["tokenizer_config.json"], result.TokenizerFiles);
        Assert.True(File.Exists(Path.Combine(result.OutputDirectory, "tokenizer_config.json")));
        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(result.OutputDirectory, "genai_config.json")));
        var m = config.RootElement.GetProperty("model");
        var decoder = m.GetProperty("decoder");
        Assert.Equal(97, m.GetProperty("vocab_size").GetInt32());
        Assert.Equal(8, m.GetProperty("context_length").GetInt32());
        Assert.Equal(96, m.GetProperty("eos_token_id").GetInt32());
        Assert.Equal(4, decoder.GetProperty("head_size").GetInt32());
        Assert.Equal(1, decoder.GetProperty("num_hidden_layers").GetInt32());
        Assert.Equal("past_key_values.%d.key", decoder.GetProperty("inputs").GetProperty("past_key_names").GetString());
        Assert.Equal("present.%d.value", decoder.GetProperty("outputs").GetProperty("present_value_names").GetString());
    }

    [Fact]
    public async Task TensorShapeDisagreesWithConfig_NamesTheTensorAndBothShapes()
    {
        var model = new TinyGpt2(vocab: 97, context: 8, layers: 2, heads: 2, channels: 8, seed: 1);
        var (values, _) = model.Tensors["transformer.h.1.mlp.c_fc.weight"];
        model.Tensors["transformer.h.1.mlp.c_fc.weight"] = (values[..(8 * 16)], [8, 16]);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var output = Path.Combine(_dir, "onnx");

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, output, null, CancellationToken.None));
        Assert.Contains("transformer.h.1.mlp.c_fc.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 16]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 32]", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
        Assert.DoesNotContain(Directory.EnumerateDirectories(_dir), d => d.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MissingTensor_NamesItAndItsShape()
    {
        var model = new TinyGpt2(vocab: 97, context: 8, layers: 2, heads: 2, channels: 8, seed: 1);
        model.Tensors.Remove("transformer.h.1.attn.c_proj.bias");
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None));
        Assert.Contains("transformer.h.1.attn.c_proj.bias", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[8]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingFiles_AreNamed()
    {
        var model = new TinyGpt2(vocab: 97, context: 8, layers: 1, heads: 2, channels: 8, seed: 1);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var output = Path.Combine(_dir, "onnx");

        File.Move(Path.Combine(checkpoint, "model.safetensors"), Path.Combine(_dir, "moved.safetensors"));
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, output, null, CancellationToken.None));
        Assert.Contains(Path.Combine(checkpoint, "model.safetensors"), ex.Message, StringComparison.Ordinal);

        File.Move(Path.Combine(_dir, "moved.safetensors"), Path.Combine(checkpoint, "model.safetensors"));
        File.Delete(Path.Combine(checkpoint, "config.json"));
        ex = await Assert.ThrowsAsync<ModelLoadException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, output, null, CancellationToken.None));
        Assert.Contains(Path.Combine(checkpoint, "config.json"), ex.Message, StringComparison.Ordinal);

        await model.SaveAsync(checkpoint);
        var adapter = Path.Combine(_dir, "adapter");
        Directory.CreateDirectory(adapter);
        await new PeftAdapterConfig { Rank = 2, Alpha = 4, TargetModules = ["c_attn"] }.WriteAsync(Path.Combine(adapter, PeftAdapterConfig.FileName));
        ex = await Assert.ThrowsAsync<ModelLoadException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, output, new OnnxExportOptions { AdapterDirectory = adapter }, CancellationToken.None));
        Assert.Contains(Path.Combine(adapter, PeftAdapterConfig.WeightsFileName), ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task AdapterShapeDisagreesWithTheBase_NamesTheTensorAndBothShapes()
    {
        var model = new TinyGpt2(vocab: 97, context: 8, layers: 1, heads: 2, channels: 8, seed: 1);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var adapter = Path.Combine(_dir, "adapter");
        Directory.CreateDirectory(adapter);
        var writer = new SafeTensorsWriter();
        writer.Add("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", new float[2 * 12], [2, 12]);
        writer.Add("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", new float[24 * 2], [24, 2]);
        await writer.WriteAsync(Path.Combine(adapter, PeftAdapterConfig.WeightsFileName));
        await new PeftAdapterConfig { Rank = 2, Alpha = 4, TargetModules = ["c_attn"] }.WriteAsync(Path.Combine(adapter, PeftAdapterConfig.FileName));

        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), new OnnxExportOptions { AdapterDirectory = adapter }, CancellationToken.None));
        Assert.Contains("transformer.h.0.attn.c_attn.lora_A.weight", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 12]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 8]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonEmptyOutput_IsRefused_UnlessOverwrite()
    {
        var model = new TinyGpt2(vocab: 97, context: 8, layers: 1, heads: 2, channels: 8, seed: 1);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var output = Path.Combine(_dir, "onnx");
        Directory.CreateDirectory(output);
        await File.WriteAllTextAsync(Path.Combine(output, "keep.txt"), "user file");

        var ex = await Assert.ThrowsAsync<LlmAdaptException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, output, null, CancellationToken.None));
        Assert.Contains(output, ex.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "keep.txt")));

        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, output, new OnnxExportOptions { Overwrite = true }, CancellationToken.None);
        Assert.True(File.Exists(result.ModelPath));
        Assert.False(File.Exists(Path.Combine(output, "keep.txt")));
        Assert.Single(Directory.EnumerateDirectories(_dir), d => Path.GetFileName(d) == "onnx");
    }

    [Fact]
    public async Task Cancelled_LeavesNoOutputAndNoTemporaryFolder()
    {
        var model = new TinyGpt2(vocab: 97, context: 8, layers: 1, heads: 2, channels: 8, seed: 1);
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        var output = Path.Combine(_dir, "onnx");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, output, null, cancelled.Token));
        Assert.False(Directory.Exists(output));
        Assert.DoesNotContain(Directory.EnumerateDirectories(_dir), d => d.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnsupportedArchitecture_IsNamed()
    {
        var checkpoint = Path.Combine(_dir, "checkpoint");
        Directory.CreateDirectory(checkpoint);
        await new HuggingFaceModelConfig { ModelType = "gpt_neox", VocabSize = 32 }.WriteAsync(Path.Combine(checkpoint, "config.json"));
        var ex = await Assert.ThrowsAsync<ModelLoadException>(() => OnnxDecoderExporter.ExportAsync(checkpoint, Path.Combine(_dir, "onnx"), null, CancellationToken.None));
        Assert.Contains("'gpt_neox'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'llama'", ex.Message, StringComparison.Ordinal);
    }
}
