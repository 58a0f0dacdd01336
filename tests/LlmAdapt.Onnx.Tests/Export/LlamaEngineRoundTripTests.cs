using LlmAdapt.Onnx.Export;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Training.FineTuning;
using Microsoft.ML.Tokenizers;
using Xunit.Abstractions;

namespace LlmAdapt.Onnx.Tests.Export;

/// <summary>
/// A Llama checkpoint with GPT-2's vocabulary (as the training engine makes them) and a LoRA adapter, exported and
/// compared with the engine's own public evaluator (perplexity) and greedy sampler, on the base and on the adapter
/// (which the engine applies unmerged and the export merges).
/// </summary>
public sealed class LlamaEngineRoundTripTests(ITestOutputHelper output) : IDisposable
{
    private const int Vocab = 50257;
    private const string Text = "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.";
    private static readonly Lazy<Tokenizer> s_gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));
    private readonly string _dir = TinyGpt2.NewDirectory("engine-llama");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Export_EqualsTheEnginesPerplexityAndGreedyText_BaseAndLora()
    {
        var model = new TinyLlama(Vocab, context: 32, layers: 2, heads: 4, kvHeads: 2, channels: 32, intermediate: 64, seed: 5, tied: true) { BosTokenId = 50256, EosTokenId = 50256 };
        var checkpoint = await model.SaveAsync(Path.Combine(_dir, "checkpoint"));
        model.AddLora(rank: 4, alpha: 8, seed: 3, TinyLlama.AllSites);
        var adapter = await model.SaveAdapterAsync(Path.Combine(_dir, "adapter"), checkpoint, alpha: 8);
        foreach (var source in new[] { checkpoint, adapter })
        {
            var result = await OnnxDecoderExporter.ExportAsync(source, Path.Combine(_dir, "onnx-" + Path.GetFileName(source)), null, CancellationToken.None);
            const int t = 16;
            var engine = await DecoderEvaluator.PerplexityAsync(source, Text, sequenceLength: t);
            var tokens = s_gpt2.Value.EncodeToIds(Text).ToArray();
            var blocks = (tokens.Length - 1) / t;
            using var session = new ExportedSession(result.OutputDirectory, 2, 2, 8, Vocab);
            double sum = 0;
            for (var b = 0; b < blocks; b++)
            {
                var (logits, _, _) = session.Step(LogitChecks.Longs(tokens.AsSpan(b * t, t).ToArray()), LogitChecks.Positions(t), LogitChecks.Ones(t), 1, null, 0);
                for (var i = 0; i < t; i++)
                {
                    sum += LogitChecks.NegativeLogLikelihood(logits.AsSpan(i * Vocab, Vocab), tokens[(b * t) + i + 1]);
                }
            }

            var ours = sum / (blocks * t);
            output.WriteLine($"{Path.GetFileName(source)}: engine loss {engine.Loss:F6} over {engine.Tokens} tokens, ONNX {ours:F6} (|Δ| {Math.Abs(engine.Loss - ours):E2})");
            Assert.Equal(blocks * t, engine.Tokens);
            Assert.InRange(Math.Abs(engine.Loss - ours), 0, 1e-4);

            const string prompt = "The quick brown fox";
            var engineText = await DecoderEvaluator.GenerateAsync(source, prompt, 10, temperature: 0);
            using var loaded = OnnxDecoderModel.Load(result.OutputDirectory);
            var generated = loaded.Generate(s_gpt2.Value.EncodeToIds(prompt).ToArray(), new GenerationOptions { MaxNewTokens = 10 });
            Assert.Equal(engineText, s_gpt2.Value.Decode(generated.Sequence));
        }
    }
}
