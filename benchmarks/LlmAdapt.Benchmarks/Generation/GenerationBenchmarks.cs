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

    /// <summary>The fixture: <c>gpt2</c> (tiny-random-gpt2-fp32) or <c>llama</c> (tiny-random-LlamaForCausalLM-fp16).</summary>
    [Params("gpt2", "llama")]
    public string Model { get; set; } = "gpt2";

    /// <summary>Tokens generated per call.</summary>
    [Params(256)]
    public int NewTokens { get; set; } = 256;

    public static string DirectoryOf(string model) => Path.Combine(
        Data.SharedRoot, "models", "onnxruntime-genai", model == "gpt2" ? "tiny-random-gpt2-fp32" : "tiny-random-LlamaForCausalLM-fp16");

    [GlobalSetup]
    public void Setup()
    {
        var directory = DirectoryOf(Model);
        _ours = OnnxDecoderModel.Load(directory);
        _peer = new OrtGenAI.Model(directory);
        _prompt = Model == "gpt2" ? [0, 0, 0, 52] : [1, 15043, 3186, 29892];

        // Both must do the same work: the same ids, none stopping early at an end-of-sequence id.
        var peerIds = OrtGenAI_Generator();
        var ours = _ours.Generate(_prompt, new GenerationOptions { MaxNewTokens = NewTokens });
        if (!peerIds.SequenceEqual(ours.Sequence) || ours.TokenIds.Count != NewTokens)
        {
            throw new InvalidOperationException($"{Model}: the two generators disagree or stop early ({ours.TokenIds.Count} of {NewTokens} tokens).");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ours.Dispose();
        _peer.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int[] OrtGenAI_Generator()
    {
        using var parameters = new OrtGenAI.GeneratorParams(_peer);
        parameters.SetSearchOption("max_length", _prompt.Length + NewTokens);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new OrtGenAI.Generator(_peer, parameters);
        generator.AppendTokens(_prompt);
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
        }

        return generator.GetSequence(0).ToArray();
    }

    [Benchmark]
    public GenerationResult LlmAdapt_OnnxDecoderModel() => _ours.Generate(_prompt, new GenerationOptions { MaxNewTokens = NewTokens });
}
