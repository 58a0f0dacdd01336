using LlmAdapt.Training.Lora;
using LlmAdapt.Training.Models;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Models.Llama;
using LlmAdapt.Training.Optim;

namespace LlmAdapt.Training.Tests.Models;

/// <summary>A training step (forward, backward, clip, AdamW) allocates nothing once its buffers exist.</summary>
public sealed class StepAllocationTests
{
    [Theory]
    [InlineData("gpt2", 0)]
    [InlineData("gpt2", 4)]
    [InlineData("llama", 0)]
    [InlineData("llama", 4)]
    public void TrainingStep_AfterTheFirst_AllocatesNothing(string family, int loraRank)
    {
        // Big enough that row-wise ops run in several pieces (256 rows) and element-wise ones in more than one chunk.
        DecoderModel<float> model = family == "gpt2"
            ? new Gpt2Model<float>(new Gpt2Config { VocabSize = 300, ContextLength = 128, Layers = 2, Heads = 2, Channels = 64 })
            : new LlamaModel<float>(new LlamaConfig { VocabSize = 300, ContextLength = 128, Layers = 2, Heads = 4, KeyValueHeads = 2, Channels = 64, IntermediateSize = 176 });
        model.InitializeRandom(1);

        // One thread: every piece runs on this thread, so its allocation counter sees all of them (other tests run
        // beside this one, which rules out the process-wide counter).
        model.Threads = 1;
        model.Training = true;
        if (loraRank > 0)
        {
            model.AttachLora(new LoraOptions { Rank = loraRank, Alpha = 2 * loraRank, Dropout = 0.1 }, seed: 2);
        }

        var optimizer = new AdamW<float>(model.Trainable, weightDecay: 0.1) { Workers = model.Workers };
        var random = new Random(3);
        var inputs = Enumerable.Range(0, 2 * 128).Select(_ => random.Next(300)).ToArray();
        var targets = Enumerable.Range(0, 2 * 128).Select(_ => random.Next(300)).ToArray();
        void Step()
        {
            model.Forward(inputs, targets, 2, 128);
            model.ZeroGrad();
            model.Backward();
            optimizer.ClipGradients(1.0);
            optimizer.Step(1e-3);
        }

        // The runtime itself may allocate on this thread now and then while it recompiles hot methods (tiered JIT);
        // a step that allocates does so in every window, so the quietest of several windows of three steps must be 0.
        var windows = new List<long>();
        for (var window = 0; window < 8; window++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 3; i++)
            {
                Step();
            }

            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, windows.Min());
    }
}
