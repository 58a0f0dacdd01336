using BenchmarkDotNet.Attributes;
using LlmAdapt.Onnx.Generation;
using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Benchmarks.Generation;

/// <summary>
/// Greedy decoding of the same model files by ONNX Runtime GenAI's <c>Generator</c> (baseline) and by
/// <see cref="OnnxDecoderModel"/>. The graph's compute is identical, so the difference is per-token overhead.
/// </summary>
[MemoryDiagnoser]
public class GenerationBenchmarks
{
    private OnnxDecoderModel _ours = null!;
    private OrtGenAI.Model _peer = null!;
    private int[] _prompt = [];

    /// <summary>The models compared, in the order of the closing line.</summary>
    public static IReadOnlyList<string> Models { get; } = ["gpt2", "llama", "gpt2small"];

    /// <summary>
    /// The model: <c>gpt2</c> (tiny-random-gpt2-fp32), <c>llama</c> (tiny-random-LlamaForCausalLM-fp16), or
    /// <c>gpt2small</c> (a random GPT-2-small-shaped checkpoint exported by LlmAdapt, see <see cref="Gpt2SmallFixture"/>).
    /// </summary>
    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "gpt2";

    /// <summary>Tokens generated per call: fewer for the 124M-weight model, so a run fits in minutes on two cores.</summary>
    public int NewTokens => NewTokensOf(Model);

    public static int NewTokensOf(string model) => model == "gpt2small" ? 64 : 256;

    public static string DirectoryOf(string model) => model switch
    {
        "gpt2small" => Gpt2SmallFixture.ExportedDirectory,
        "gpt2" => Path.Combine(TestData.SharedRoot, "models", "onnxruntime-genai", "tiny-random-gpt2-fp32"),
        _ => Path.Combine(TestData.SharedRoot, "models", "onnxruntime-genai", "tiny-random-LlamaForCausalLM-fp16"),
    };

    /// <summary>The prompt ids: GPT-2's "The quick brown fox" for the GPT-2-small shape.</summary>
    public static int[] PromptOf(string model) => model switch
    {
        "gpt2" => [0, 0, 0, 52],
        "gpt2small" => [464, 2068, 7586, 21831],
        _ => [1, 15043, 3186, 29892],
    };

    [GlobalSetup]
    public void Setup()
    {
        var directory = DirectoryOf(Model);
        _ours = OnnxDecoderModel.Load(directory);
        _peer = new OrtGenAI.Model(directory);
        _prompt = PromptOf(Model);

        // Both must do the same work: the same ids, none stopping early at an end-of-sequence id.
        var peerIds = OrtGenAI_Generator();
        var ours = _ours.Generate(_prompt, new GenerationOptions { MaxNewTokens = NewTokens });
        if (!peerIds.SequenceEqual(ours.Sequence) || ours.TokenIds.Count != NewTokens)
        {
            throw new InvalidOperationException($"{Model}: the two generators disagree or stop early ({ours.TokenIds.Count} of {NewTokens} tokens).");
        }

        Console.WriteLine($"{Model}: ORT GenAI loaded {directory}; greedy ids match ({NewTokens} new tokens, first: {string.Join(',', ours.TokenIds.Take(8))})");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ours.Dispose();
        _peer.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int[] OrtGenAI_Generator() => RunPeer(_peer, _prompt, NewTokens);

    /// <summary>Greedy decoding of one prompt by a GenAI <c>Generator</c>; <paramref name="onToken"/> runs after each id.</summary>
    public static int[] RunPeer(OrtGenAI.Model model, int[] prompt, int newTokens, Action? onToken = null)
    {
        using var parameters = new OrtGenAI.GeneratorParams(model);
        parameters.SetSearchOption("max_length", prompt.Length + newTokens);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new OrtGenAI.Generator(model, parameters);
        generator.AppendTokens(prompt);
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
            onToken?.Invoke();
        }

        return generator.GetSequence(0).ToArray();
    }

    [Benchmark]
    public GenerationResult LlmAdapt_OnnxDecoderModel() => _ours.Generate(_prompt, new GenerationOptions { MaxNewTokens = NewTokens });
}
