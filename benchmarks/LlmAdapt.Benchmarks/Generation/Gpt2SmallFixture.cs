using LlmAdapt.Formats;
using LlmAdapt.Onnx.Export;

namespace LlmAdapt.Benchmarks.Generation;

/// <summary>
/// A GPT-2-small-shaped checkpoint (12 layers, 12 heads, 768 channels, context 1024, vocabulary 50257; 124M weights)
/// with random weights from a fixed seed, in the Hugging Face layout LlmAdapt's training engine writes, exported to
/// ONNX by <see cref="OnnxDecoderExporter"/>. Both are made once and cached under the OS temp folder, keyed by
/// <see cref="Version"/>; the export is the model folder both generators load.
/// </summary>
internal static class Gpt2SmallFixture
{
    public const int Vocab = 50257;
    public const int Context = 1024;
    public const int Layers = 12;
    public const int Heads = 12;
    public const int Channels = 768;
    public const int Seed = 20260701;

    /// <summary>Bump when the checkpoint or the way it is made changes, so stale caches are not reused.</summary>
    private const string Version = "v1";

    private static readonly Lazy<string> s_exported = new(() => EnsureAsync().GetAwaiter().GetResult());

    public static string Root { get; } = Path.Combine(Path.GetTempPath(), "llmadapt-benchmarks", $"gpt2-small-random-{Seed}-{Version}");

    /// <summary>The exported model folder (model.onnx + genai_config.json), made on first use.</summary>
    public static string ExportedDirectory => s_exported.Value;

    private static async Task<string> EnsureAsync()
    {
        var checkpoint = Path.Combine(Root, "checkpoint");
        var exported = Path.Combine(Root, "onnx");
        if (File.Exists(Path.Combine(exported, OnnxDecoderExporter.GenAIConfigFileName)))
        {
            return exported;
        }

        if (!File.Exists(Path.Combine(checkpoint, HuggingFaceModelConfig.FileName)))
        {
            Console.WriteLine($"gpt2small: writing a random GPT-2-small checkpoint (seed {Seed}) to {checkpoint}");
            await WriteCheckpointAsync(checkpoint).ConfigureAwait(false);
        }

        Console.WriteLine($"gpt2small: exporting it with OnnxDecoderExporter to {exported}");
        var result = await OnnxDecoderExporter.ExportAsync(checkpoint, exported, new OnnxExportOptions { Overwrite = true }).ConfigureAwait(false);
        Console.WriteLine($"gpt2small: exported {result.ParameterCount:N0} weights in {result.Layers} layers");
        return exported;
    }

    /// <summary>
    /// GPT-2's initialisation: normal(0, 0.02) matrices and embeddings, zero biases, LayerNorm weight 1 and bias 0. The
    /// checkpoint is written to a temporary folder and renamed, so an interrupted run leaves nothing that looks complete.
    /// </summary>
    private static async Task WriteCheckpointAsync(string directory)
    {
        var temp = directory + $".{Guid.NewGuid():N}.tmp";
        Directory.CreateDirectory(temp);
        try
        {
            var random = new Random(Seed);
            var writer = new SafeTensorsWriter();
            writer.Metadata["format"] = "pt";
            const int c = Channels;
            void Normal(string name, params long[] shape)
            {
                var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
                for (var i = 0; i < values.Length; i += 2)
                {
                    // Box-Muller: two independent normals per pair of uniforms.
                    var u1 = 1.0 - random.NextDouble();
                    var u2 = random.NextDouble();
                    var r = 0.02 * Math.Sqrt(-2.0 * Math.Log(u1));
                    values[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
                    if (i + 1 < values.Length)
                    {
                        values[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
                    }
                }

                writer.Add(name, values, shape);
            }

            void Constant(string name, float value, long length)
            {
                var values = new float[length];
                Array.Fill(values, value);
                writer.Add(name, values, [length]);
            }

            Normal("transformer.wte.weight", Vocab, c);
            Normal("transformer.wpe.weight", Context, c);
            for (var l = 0; l < Layers; l++)
            {
                var h = $"transformer.h.{l}.";
                Constant(h + "ln_1.weight", 1, c);
                Constant(h + "ln_1.bias", 0, c);
                Normal(h + "attn.c_attn.weight", c, 3 * c);
                Constant(h + "attn.c_attn.bias", 0, 3 * c);
                Normal(h + "attn.c_proj.weight", c, c);
                Constant(h + "attn.c_proj.bias", 0, c);
                Constant(h + "ln_2.weight", 1, c);
                Constant(h + "ln_2.bias", 0, c);
                Normal(h + "mlp.c_fc.weight", c, 4 * c);
                Constant(h + "mlp.c_fc.bias", 0, 4 * c);
                Normal(h + "mlp.c_proj.weight", 4 * c, c);
                Constant(h + "mlp.c_proj.bias", 0, c);
            }

            Constant("transformer.ln_f.weight", 1, c);
            Constant("transformer.ln_f.bias", 0, c);
            await writer.WriteAsync(Path.Combine(temp, "model.safetensors")).ConfigureAwait(false);
            await new HuggingFaceModelConfig
            {
                ModelType = "gpt2",
                Architectures = ["GPT2LMHeadModel"],
                VocabSize = Vocab,
                NPositions = Context,
                NEmbd = Channels,
                NLayer = Layers,
                NHead = Heads,
                LayerNormEpsilon = 1e-5,
                ActivationFunction = "gelu_new",
                BosTokenId = 50256,
                EosTokenId = 50256,
                TieWordEmbeddings = true,
                TorchDtype = "float32",
            }.WriteAsync(Path.Combine(temp, HuggingFaceModelConfig.FileName)).ConfigureAwait(false);
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }

            Directory.Move(temp, directory);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }
}
