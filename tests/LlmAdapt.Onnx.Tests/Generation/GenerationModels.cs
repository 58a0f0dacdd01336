using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Onnx.Tests.Generation;

/// <summary>Finds the shared fixture models (../shared next to the folder holding LlmAdapt.sln, or LLMADAPT_SHARED).</summary>
internal static class GenerationModels
{
    private static readonly Lazy<string> s_shared = new(FindShared);
    private static readonly Lazy<OnnxDecoderModel> s_gpt2 = new(() => OnnxDecoderModel.Load(Gpt2Directory));
    private static readonly Lazy<OnnxDecoderModel> s_llama = new(() => OnnxDecoderModel.Load(LlamaDirectory));

    public static string Gpt2Directory => Path.Combine(s_shared.Value, "models", "onnxruntime-genai", "tiny-random-gpt2-fp32");

    public static string LlamaDirectory => Path.Combine(s_shared.Value, "models", "onnxruntime-genai", "tiny-random-LlamaForCausalLM-fp16");

    /// <summary>One GPT-2 fixture per test run; the model is thread-safe and loading is the slow part.</summary>
    public static OnnxDecoderModel Gpt2 => s_gpt2.Value;

    public static OnnxDecoderModel Llama => s_llama.Value;

    private static string FindShared()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LLMADAPT_SHARED");
        if (!string.IsNullOrEmpty(fromEnvironment) && Directory.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlmAdapt.sln")) && dir.Parent is { } parent && Directory.Exists(Path.Combine(parent.FullName, "shared")))
            {
                return Path.Combine(parent.FullName, "shared");
            }
        }

        throw new DirectoryNotFoundException("The shared models were not found: put the repository next to 'shared/' or set LLMADAPT_SHARED.");
    }
}
