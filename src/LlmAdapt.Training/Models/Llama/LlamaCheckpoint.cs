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
        HeadDim = c.HeadDim > 0 ? c.HeadDim : null,
        TieWordEmbeddings = c.TieWordEmbeddings,
        TorchDtype = "float32",
    };

    public static LlamaConfig FromHuggingFace(HuggingFaceModelConfig hf, string path)
    {
        if (!string.Equals(hf.ModelType, "llama", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelLoadException(path, $"model_type is '{hf.ModelType}'; this loader reads 'llama'.", null);
        }

        if (hf.LlamaFeatureProblems() is { Count: > 0 } problems)
        {
            throw new ModelLoadException(path, string.Join("; ", problems) + ".", null);
        }

        if (hf.ScalesRotaryFrequencies)
        {
            // Read through the one rule (HuggingFaceModelConfig.RotaryFrequencies) so an unknown type gets the exporter's message.
            hf.RotaryFrequencies(path);
            throw new ModelLoadException(path, $"rope_scaling {hf.RopeScaling?.GetRawText()} is set; the engine trains with plain rotary embeddings (rope_scaling none or default); the ONNX exporter applies linear and llama3 scaling.", null);
        }

        var config = new LlamaConfig
        {
            VocabSize = hf.VocabSize,
            Channels = hf.Width,
            IntermediateSize = hf.MlpWidth,
            Layers = hf.LayerCount,
            Heads = hf.HeadCount,
            KeyValueHeads = hf.KeyValueHeadCount,
            HeadDim = hf.HeadDim is int headDim && (long)headDim * hf.HeadCount != hf.Width ? headDim : 0,
            ContextLength = hf.ContextLength,
            RmsNormEpsilon = hf.NormEpsilon,
            RopeTheta = hf.RotaryBase,
            TieWordEmbeddings = hf.TiesWordEmbeddings,
        };
        return DecoderCheckpoint.Validated(config, path);
    }
}
