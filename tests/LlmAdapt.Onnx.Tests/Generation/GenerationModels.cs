using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Onnx.Tests.Generation;

/// <summary>The shared fixture models (found through <see cref="TestData"/>), loaded once per test run.</summary>
internal static class GenerationModels
{
    private static readonly Lazy<OnnxDecoderModel> s_gpt2 = new(() => OnnxDecoderModel.Load(Gpt2Directory));
    private static readonly Lazy<OnnxDecoderModel> s_llama = new(() => OnnxDecoderModel.Load(LlamaDirectory));

    public static string Gpt2Directory => TestData.ModelPath(Path.Combine("onnxruntime-genai", "tiny-random-gpt2-fp32"));

    public static string LlamaDirectory => TestData.ModelPath(Path.Combine("onnxruntime-genai", "tiny-random-LlamaForCausalLM-fp16"));

    /// <summary>One GPT-2 fixture per test run; the model is thread-safe and loading is the slow part.</summary>
    public static OnnxDecoderModel Gpt2 => s_gpt2.Value;

    public static OnnxDecoderModel Llama => s_llama.Value;
}
