using System.Text.Json;
using LlmAdapt.Formats;

namespace LlmAdapt.Tests.Formats;

public sealed class HuggingFaceModelConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-hfconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task EosTokenIdListIsReadKeptAndWrittenBack()
    {
        // Llama 3 instruct configs end on either of two ids.
        var file = Path.Combine(_dir, "config.json");
        await File.WriteAllTextAsync(file, """{"model_type":"llama","vocab_size":128256,"eos_token_id":[128001,128009],"bos_token_id":128000}""");

        var config = await HuggingFaceModelConfig.ReadAsync(_dir);

        Assert.Equal([128001, 128009], config.EosTokenIds);
        Assert.Equal(128001, config.EosTokenId);
        Assert.Equal(128000, config.BosTokenId);

        var copy = Path.Combine(_dir, "copy.json");
        await config.WriteAsync(copy);
        using var written = JsonDocument.Parse(await File.ReadAllTextAsync(copy));
        var eos = written.RootElement.GetProperty("eos_token_id");
        Assert.Equal(JsonValueKind.Array, eos.ValueKind);
        Assert.Equal([128001, 128009], eos.EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task SingleEosTokenIdStaysANumber()
    {
        var config = new HuggingFaceModelConfig { VocabSize = 50257, EosTokenId = 50256 };
        Assert.Equal([50256], config.EosTokenIds);

        var file = Path.Combine(_dir, "config.json");
        await config.WriteAsync(file);
        using var written = JsonDocument.Parse(await File.ReadAllTextAsync(file));
        Assert.Equal(50256, written.RootElement.GetProperty("eos_token_id").GetInt32());
        Assert.Equal(50256, (await HuggingFaceModelConfig.ReadAsync(file)).EosTokenId);
    }

    [Fact]
    public async Task EosTokenIdOfTheWrongKindNamesTheFile()
    {
        var file = Path.Combine(_dir, "config.json");
        await File.WriteAllTextAsync(file, """{"model_type":"gpt2","vocab_size":10,"eos_token_id":"two"}""");

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => HuggingFaceModelConfig.ReadAsync(file));
        Assert.Contains("config.json", error.Message);
        Assert.Contains("eos_token_id", error.Message);
    }
}
