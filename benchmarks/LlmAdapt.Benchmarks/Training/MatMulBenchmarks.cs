using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using LlmAdapt.Training.Kernels;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>One multiply the engine does in training: C[M, N] = op(A)[M, K] · op(B)[K, N].</summary>
/// <param name="Name">What it is in the step.</param>
/// <param name="M">Rows of C.</param>
/// <param name="K">The depth.</param>
/// <param name="N">Columns of C.</param>
/// <param name="TransA">Whether A is stored [K, M] (weight gradients: Aᵀ·B).</param>
/// <param name="TransB">Whether B is stored [N, K] (A·Bᵀ).</param>
/// <param name="ConstantB">
/// Whether B is a weight (forward and input-gradient shapes): an ONNX initializer, which ONNX Runtime packs once when
/// the session is created, and on the engine a <see cref="PackedMatrix{T}"/> made once, as a LoRA step packs its frozen
/// base (unless the pair is made with <c>prePack: false</c>, the full step's case, where weights change every step).
/// </param>
public sealed record MatMulShape(string Name, int M, int K, int N, bool TransA, bool TransB, bool ConstantB)
{
    public double Flops => 2.0 * M * K * N;

    public string Op => (TransA, TransB) switch { (false, false) => "A·B", (false, true) => "A·Bᵀ", (true, false) => "Aᵀ·B", _ => "Aᵀ·Bᵀ" };

    /// <summary>
    /// Gets the multiplies of one step of the 4-layer, 128-wide GPT-2 (B·T = 1,024 rows, vocabulary 50,257; forward,
    /// input gradients and weight gradients), and of rank-4, 16 and 64 LoRA adapters on its 128 → 384 qkv projection.
    /// </summary>
    public static IReadOnlyList<MatMulShape> Transformer { get; } = Build();

    /// <summary>
    /// Gets the logits of one decode step of the same GPT-2 (x·Wᵀ over the 50,257-token vocabulary) for one sequence and
    /// for four side by side: the multiply that dominates sampling (<c>eval generations</c>).
    /// </summary>
    public static IReadOnlyList<MatMulShape> Decode { get; } =
    [
        new("head_decode", 1, 128, 50257, false, true, true),
        new("head_decode4", 4, 128, 50257, false, true, true),
    ];

    public override string ToString() => Name;

    private static List<MatMulShape> Build()
    {
        const int n = 1024, c = 128, v = 50257;
        var list = new List<MatMulShape>();
        foreach (var (name, inF, outF) in new[] { ("qkv", c, 3 * c), ("attn_proj", c, c), ("mlp_up", c, 4 * c), ("mlp_down", 4 * c, c) })
        {
            list.Add(new(name, n, inF, outF, false, false, true));
            list.Add(new(name + "_dx", n, outF, inF, false, true, true));
            list.Add(new(name + "_dw", inF, n, outF, true, false, false));
        }

        list.Add(new("head", n, c, v, false, true, true));
        list.Add(new("head_dx", n, v, c, false, false, true));
        list.Add(new("head_dw", v, n, c, true, false, false));
        foreach (var r in new[] { 4, 16, 64 })
        {
            // h = x·Aᵀ; out += h·Bᵀ; dB = doutᵀ·h; dh = dout·B; dA = dhᵀ·x; dx += dh·A (qkv site: in 128, out 384).
            list.Add(new($"lora{r}_xA", n, c, r, false, true, false));
            list.Add(new($"lora{r}_hB", n, r, 3 * c, false, true, false));
            list.Add(new($"lora{r}_dB", 3 * c, n, r, true, false, false));
            list.Add(new($"lora{r}_dh", n, 3 * c, r, false, false, false));
            list.Add(new($"lora{r}_dA", r, n, c, true, false, false));
            list.Add(new($"lora{r}_dx", n, r, c, false, false, false));
        }

        return list;
    }
}

/// <summary>
/// The engine's matrix multiply against ONNX Runtime's (a one-node MatMul, or Gemm with transA/transB, MLAS inside)
/// on every shape of <see cref="MatMulShape.Transformer"/> and <see cref="MatMulShape.Decode"/>, both on every core; where the shape multiplies
/// by a weight, both pack it once (an initializer; <see cref="MatMul.Pack{T}"/>).
/// </summary>
[MemoryDiagnoser]
public unsafe class MatMulBenchmarks
{
    private Pair? _pair;

    public static IEnumerable<MatMulShape> Shapes => MatMulShape.Transformer.Concat(MatMulShape.Decode);

    /// <summary>Gets or sets the shape.</summary>
    [ParamsSource(nameof(Shapes))]
    public MatMulShape Shape { get; set; } = MatMulShape.Transformer[0];

    [GlobalSetup]
    public void Setup() => _pair = new Pair(Shape, Environment.ProcessorCount);

    [GlobalCleanup]
    public void Cleanup() => _pair?.Dispose();

    [Benchmark(Baseline = true)]
    public void OnnxRuntime_MatMul() => _pair!.RunOnnxRuntime();

    [Benchmark]
    public void Engine_MatMul() => _pair!.RunEngine();

    /// <summary>The same inputs for both libraries, each writing its own output.</summary>
    internal sealed class Pair : IDisposable
    {
        private readonly MatMulShape _shape;
        private readonly Workers _workers;
        // Both libraries read and write the same kind of memory: 64-byte-aligned buffers, as the engine's own
        // (PinnedBuffer) and ONNX Runtime's arena allocations are; with arrays from the managed heap, each output's
        // alignment would fall where the allocator put it, and a misaligned output alone costs a short-depth product
        // up to a third of its speed.
        private readonly PinnedBuffer<float> _a;
        private readonly PinnedBuffer<float> _b;
        private readonly PinnedBuffer<float> _c;
        private readonly PinnedBuffer<float> _peer;
        private readonly InferenceSession _session;
        private readonly OrtValue _inputA;
        private readonly OrtValue _inputB;
        private readonly OrtValue _output;
        private readonly RunOptions _runOptions = new();
        private readonly PackedMatrix<float>? _packedB;

        /// <summary>Creates both sides; <paramref name="prePack"/>: whether the engine packs a constant B once (as ONNX Runtime does).</summary>
        public Pair(MatMulShape shape, int threads, bool prePack = true)
        {
            _shape = shape;
            _workers = new Workers(threads);
            var random = new Random(1);
            (_a, _b) = (new PinnedBuffer<float>(shape.M * shape.K), new PinnedBuffer<float>(shape.K * shape.N));
            (_c, _peer) = (new PinnedBuffer<float>(shape.M * shape.N), new PinnedBuffer<float>(shape.M * shape.N));
            foreach (var buffer in new[] { _a, _b })
            {
                foreach (ref var x in buffer.Span)
                {
                    x = (float)random.NextDouble() - 0.5f;
                }
            }

            using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            _session = new InferenceSession(BuildModel(shape, _b.Span.ToArray()), options);
            var memory = OrtMemoryInfo.DefaultInstance;
            _inputA = OrtValue.CreateTensorValueFromMemory(memory, _a.Memory, shape.TransA ? [shape.K, shape.M] : [shape.M, shape.K]);
            _inputB = OrtValue.CreateTensorValueFromMemory(memory, _b.Memory, shape.TransB ? [shape.N, shape.K] : [shape.K, shape.N]);
            _output = OrtValue.CreateTensorValueFromMemory(memory, _peer.Memory, [shape.M, shape.N]);
            if (shape.ConstantB && prePack)
            {
                _packedB = MatMul.Pack(_b.Pointer, shape.TransB, shape.K, shape.N, _workers);
            }
        }

        /// <summary>Gets the threads each library runs the product on.</summary>
        public int Threads => _workers.Count;

        public void RunOnnxRuntime()
        {
            if (_shape.ConstantB)
            {
                _session.Run(_runOptions, ["A"], [_inputA], ["C"], [_output]);
            }
            else
            {
                _session.Run(_runOptions, ["A", "B"], [_inputA, _inputB], ["C"], [_output]);
            }
        }

        public void RunEngine()
        {
            MatMul.Gemm(_a.Pointer, _shape.TransA, _b.Pointer, _shape.TransB, _c.Pointer, _shape.M, _shape.K, _shape.N, accumulate: false, _workers, _packedB);
        }

        /// <summary>Returns the largest difference between the two outputs relative to the largest output.</summary>
        public double RelativeDifference()
        {
            double worst = 0, scale = 1e-30;
            ReadOnlySpan<float> c = _c.Span, peer = _peer.Span;
            for (var i = 0; i < c.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(c[i] - peer[i]));
                scale = Math.Max(scale, Math.Abs(peer[i]));
            }

            return worst / scale;
        }

        public void Dispose()
        {
            _workers.Dispose();
            _session.Dispose();
            _inputA.Dispose();
            _inputB.Dispose();
            _output.Dispose();
            _runOptions.Dispose();
        }
    }

    /// <summary>A one-node graph: C = MatMul(A, B), or Gemm with transA/transB; B an initializer when constant.</summary>
    internal static byte[] BuildModel(MatMulShape shape, float[] weights)
    {
        var graph = new GraphProto { Name = "matmul" };
        var node = new NodeProto { OpType = shape.TransA || shape.TransB ? "Gemm" : "MatMul", Name = "mm", Input = { "A", "B" }, Output = { "C" } };
        if (shape.TransA)
        {
            node.Attribute.Add(new AttributeProto { Name = "transA", I = 1, Type = AttributeProto.Types.AttributeType.Int });
        }

        if (shape.TransB)
        {
            node.Attribute.Add(new AttributeProto { Name = "transB", I = 1, Type = AttributeProto.Types.AttributeType.Int });
        }

        graph.Node.Add(node);
        long[] bDims = shape.TransB ? [shape.N, shape.K] : [shape.K, shape.N];
        if (shape.ConstantB)
        {
            var b = new TensorProto { Name = "B", DataType = (int)TensorProto.Types.DataType.Float, Dims = { bDims } };
            b.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()));
            graph.Initializer.Add(b);
        }
        else
        {
            graph.Input.Add(Value("B", bDims));
        }

        graph.Input.Add(Value("A", shape.TransA ? [shape.K, shape.M] : [shape.M, shape.K]));
        graph.Output.Add(Value("C", [shape.M, shape.N]));
        var model = new ModelProto { IrVersion = 8, ProducerName = "llmadapt-benchmarks", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 17 });
        return model.ToByteArray();
    }

    private static ValueInfoProto Value(string name, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
