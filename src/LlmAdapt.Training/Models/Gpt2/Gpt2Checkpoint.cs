using LlmAdapt.Formats;

namespace LlmAdapt.Training.Models.Gpt2;

/// <summary>
/// GPT-2's side of the Hugging Face checkpoint layout: config.json (<c>model_type</c> "gpt2") to and from
/// <see cref="Gpt2Config"/>. Weights use <c>GPT2LMHeadModel</c>'s names (<c>transformer.h.0.attn.c_attn.weight</c>,
/// [in, out]) with the head tied to <c>transformer.wte.weight</c>; loading (which also accepts the bare names of older
/// checkpoints, <c>h.0.attn…</c>) and saving go through <see cref="DecoderCheckpoint"/>.
/// </summary>
internal static class Gpt2Checkpoint
{
    public static HuggingFaceModelConfig ToHuggingFace(Gpt2Config c) => new()
    {
        ModelType = "gpt2",
        Architectures = ["GPT2LMHeadModel"],
        VocabSize = c.VocabSize,
        NPositions = c.ContextLength,
        NEmbd = c.Channels,
        NLayer = c.Layers,
        NHead = c.Heads,
        LayerNormEpsilon = c.LayerNormEpsilon,
        ActivationFunction = "gelu_new",
        BosTokenId = 50256,
        EosTokenId = 50256,
        TieWordEmbeddings = true,
        TorchDtype = "float32",
    };

    public static Gpt2Config FromHuggingFace(HuggingFaceModelConfig hf, string path)
    {
        if (!string.Equals(hf.ModelType, "gpt2", StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelLoadException(path, $"model_type is '{hf.ModelType}'; this loader reads 'gpt2'.", null);
        }

        if (hf.ActivationFunction is not (null or "gelu_new" or "gelu_pytorch_tanh"))
        {
            throw new ModelLoadException(path, $"activation_function '{hf.ActivationFunction}' is not supported; the engine implements GPT-2's tanh GELU (gelu_new).", null);
        }

        if (hf.MlpWidth != 4 * hf.Width)
        {
            throw new ModelLoadException(path, $"n_inner is {hf.MlpWidth}; the engine supports n_inner = 4 × n_embd = {4 * hf.Width}.", null);
        }

        var config = new Gpt2Config
        {
            VocabSize = hf.VocabSize,
            ContextLength = hf.ContextLength,
            Channels = hf.Width,
            Layers = hf.LayerCount,
            Heads = hf.HeadCount,
            LayerNormEpsilon = hf.NormEpsilon,
        };
        return DecoderCheckpoint.Validated(config, path);
    }
}
