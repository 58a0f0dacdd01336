using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Tests.Generation;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// One small Llama (4 query heads sharing 2 key/value heads, untied head) with the Llama tokenizer of the shared
/// ONNX Runtime GenAI fixture (32,000 ids) beside its checkpoint, a LoRA adapter on all seven projections, and the
/// checkpoint exported without the adapter, with it merged, and with it kept as separate LoRA inputs.
/// </summary>
public sealed class LlamaExportFixture() : DecoderExportFixture("llama")
{
    public const int Vocab = 32000;
    public const int Context = 64;
    public const int Layers = 2;
    public const int Heads = 4;
    public const int KvHeads = 2;
    public const int Channels = 32;
    public const int Intermediate = 64;
    public const double LoraAlpha = 8;

    /// <summary>The tokenizer files the shared Llama fixture carries, copied into the checkpoint.</summary>
    public static readonly string[] TokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    internal TinyLlama Model { get; } = new(Vocab, Context, Layers, Heads, KvHeads, Channels, Intermediate, seed: 17, ropeTheta: 10000);

    /// <summary>
    /// Exports a second adapter over the same base weights (same seed; rank 2, alpha 3, only q_proj and down_proj) for
    /// the separate-LoRA graph, into <paramref name="directory"/>.
    /// </summary>
    /// <returns>The <c>.onnx_adapter</c> file and how many modules it holds.</returns>
    public async Task<(string File, int Modules)> ExportSecondAdapterAsync(string directory)
    {
        var second = new TinyLlama(Vocab, Context, Layers, Heads, KvHeads, Channels, Intermediate, seed: 17);
        second.AddLora(rank: 2, alpha: 3, seed: 99, ["self_attn.q_proj", "mlp.down_proj"]);
        var adapterFolder = await second.SaveAdapterAsync(Path.Combine(directory, "adapter"), Checkpoint, alpha: 3);
        var file = Path.Combine(directory, "second.onnx_adapter");
        return (file, await OnnxDecoderExporter.ExportAdapterAsync(adapterFolder, ExportedSeparate, file));
    }

    protected override async Task WriteCheckpointAndAdapterAsync()
    {
        await Model.SaveAsync(Checkpoint);
        foreach (var file in TokenizerFiles)
        {
            File.Copy(Path.Combine(GenerationModels.LlamaDirectory, file), Path.Combine(Checkpoint, file));
        }

        Model.AddLora(rank: 4, LoraAlpha, seed: 9, TinyLlama.AllSites);
        await Model.SaveAdapterAsync(Adapter, Checkpoint, LoraAlpha);
    }
}
