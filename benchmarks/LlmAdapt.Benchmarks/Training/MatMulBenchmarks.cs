using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using LlmAdapt.Training.Kernels;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>
/// The engine's matrix multiply against ONNX Runtime's MatMul on the shapes of the pre-training model
/// (B·T = 1024 rows, C = 128, vocabulary 50,257), both on every core, weights as ONNX initializers.
/// </summary>
[MemoryDiagnoser]
public unsafe class MatMulBenchmarks
{
    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];
    private InferenceSession? _session;
    private OrtValue? _input;
    private OrtValue? _output;
    private RunOptions? _runOptions;

    public static IEnumerable<string> Shapes => ["qkv:1024x128x384", "mlp_up:1024x128x512", "mlp_down:1024x512x128", "lm_head:1024x128x50257"];

    /// <summary>Gets or sets the shape "name:M×K×N".</summary>
    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "qkv:1024x128x384";

    public (int M, int K, int N) Dims
    {
        get
        {
            var d = Shape.Split(':')[1].Split('x').Select(int.Parse).ToArray();
            return (d[0], d[1], d[2]);
        }
    }

    public double Flops => 2.0 * Dims.M * Dims.K * Dims.N;

    [GlobalSetup]
    public void Setup()
    {
        var (m, k, n) = Dims;
        var random = new Random(1);
        _a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _b = Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _c = new float[m * n];
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _session = new InferenceSession(BuildModel(m, k, n, _b), options);
        _input = OrtValue.CreateTensorValueFromMemory(_a, [m, k]);
        _output = OrtValue.CreateTensorValueFromMemory(_c, [m, n]);
        _runOptions = new RunOptions();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session?.Dispose();
        _input?.Dispose();
        _output?.Dispose();
        _runOptions?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void OnnxRuntime_MatMul() => _session!.Run(_runOptions, ["A"], [_input!], ["C"], [_output!]);

    [Benchmark]
    public void Engine_MatMul()
    {
        var (m, k, n) = Dims;
        fixed (float* a = _a, b = _b, c = _c)
        {
            MatMul.Gemm(a, b, c, m, k, n, accumulate: false);
        }
    }

    /// <summary>A one-node graph: C = MatMul(A, B) with B an initializer.</summary>
    internal static byte[] BuildModel(int m, int k, int n, float[] weights)
    {
        var graph = new GraphProto { Name = "matmul" };
        graph.Node.Add(new NodeProto { OpType = "MatMul", Name = "mm", Input = { "A", "B" }, Output = { "C" } });
        var b = new TensorProto { Name = "B", DataType = (int)TensorProto.Types.DataType.Float, Dims = { k, n } };
        b.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()));
        graph.Initializer.Add(b);
        graph.Input.Add(Value("A", m, k));
        graph.Output.Add(Value("C", m, n));
        var model = new ModelProto { IrVersion = 8, ProducerName = "llmadapt-benchmarks", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 17 });
        return model.ToByteArray();
    }

    private static ValueInfoProto Value(string name, long rows, long cols)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = rows });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = cols });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
