using LlmAdapt.Formats;

namespace LlmAdapt.Training.Models.Llama;

/// <summary>
/// Llama's side of the Hugging Face checkpoint layout: config.json (<c>model_type</c> "llama") to and from
/// <see cref="LlamaConfig"/>. Weights use <c>LlamaForCausalLM</c>'s names ([out, in] projections); loading and saving
/// go through <see cref="DecoderCheckpoint"/>, so a SmolLM2- or Llama-shaped checkpoint loads (F32, F16 or BF16).
/// </summary>
internal static class LlamaCheckpoint
{
    public static HuggingFaceModelConfig ToHuggingFace(LlamaConfig c) => new()
    {
        ModelType = "llama",
        Architectures = ["LlamaForCausalLM"],
        VocabSize = c.VocabSize,
        HiddenSize = c.Channels,
        IntermediateSize = c.IntermediateSize,
        NumHiddenLayers = c.Layers,
        NumAttentionHeads = c.Heads,
        NumKeyValueHeads = c.KeyValueHeads,
        MaxPositionEmbeddings = c.ContextLength,
        RmsNormEps = c.RmsNormEpsilon,
        RopeTheta = c.RopeTheta,
        TieWordEmbeddings = c.TieWordEmbeddings,
        TorchDtype = "float32",
    };

    public static LlamaConfig FromHuggingFace(HuggingFaceModelConfig hf, string path)
    {
        if (!string.Equals(hf.ModelType, "llama", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelLoadException(path, $"model_type is '{hf.ModelType}'; this loader reads 'llama'.", null);
        }

        if (hf.Extra is not null && hf.Extra.TryGetValue("rope_scaling", out var scaling) && scaling.ValueKind != System.Text.Json.JsonValueKind.Null)
        {
            throw new ModelLoadException(path, "rope_scaling is set; the engine implements plain rotary embeddings only.", null);
        }

        var heads = hf.NumAttentionHeads ?? 32;
        var config = new LlamaConfig
        {
            VocabSize = hf.VocabSize,
            Channels = hf.HiddenSize ?? 4096,
            IntermediateSize = hf.IntermediateSize ?? 11008,
            Layers = hf.NumHiddenLayers ?? 32,
            Heads = heads,
            KeyValueHeads = hf.NumKeyValueHeads ?? heads,
            ContextLength = hf.MaxPositionEmbeddings ?? 2048,
            RmsNormEpsilon = hf.RmsNormEps ?? 1e-6,
            RopeTheta = hf.RopeTheta ?? 10000,
            TieWordEmbeddings = hf.TieWordEmbeddings ?? false,
        };
        return DecoderCheckpoint.Validated(config, path);
    }
}
