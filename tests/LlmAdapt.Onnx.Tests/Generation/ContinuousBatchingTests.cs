using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Onnx.Tests.Generation;

/// <summary>
/// Continuous batching on the shared tiny GPT-2 (5 layers, combined past_%d cache, 512 positions): requests arrive
/// while others decode, join the running batch between steps, and leave it when they finish or are cancelled. Arrivals
/// are staged on the decode loop's own rounds (no clocks), so each run batches the same way.
/// </summary>
public sealed class ContinuousBatchingTests
{
    // Prompts of different lengths (ids < 1000, the fixture's vocabulary) and different budgets, so rows join with
    // shorter and longer caches than the batch's and leave at different steps.
    private static readonly (int[] Prompt, int MaxNewTokens, int Round)[] s_requests =
    [
        ([0, 0, 0, 52], 40, 0),
        ([195, 731], 12, 3),
        ([7, 3, 500, 12, 99, 8, 41, 640, 2, 17, 93, 311], 30, 3),
        ([5], 25, 6),
        ([44, 921, 13, 77, 300, 1, 650, 29, 8], 18, 9),
        ([600, 601, 602, 603, 604, 605, 606, 607, 608, 609, 610, 611, 612, 613, 614, 615, 616, 617, 618, 619], 20, 9),
        ([81, 82], 35, 14),
    ];

    [Fact]
    public async Task StaggeredArrivals_OfDifferentLengths_EachGetTheIdsTheyGetAlone()
    {
        using var model = OnnxDecoderModel.Load(GenerationModels.Gpt2Directory, new OnnxDecoderModelOptions { MaxBatchSize = 4 });
        var tasks = new Task<GenerationResult>?[s_requests.Length];
        var batcher = model.Batcher!;
        batcher.BeforeRound = round =>
        {
            for (var i = 1; i < s_requests.Length; i++)
            {
                if (s_requests[i].Round == round)
                {
                    tasks[i] = model.GenerateAsync(s_requests[i].Prompt, Options(i));
                }
            }
        };

        tasks[0] = model.GenerateAsync(s_requests[0].Prompt, Options(0));
        await tasks[0]!;
        var results = await Task.WhenAll(tasks.Select(t => t!));

        for (var i = 0; i < s_requests.Length; i++)
        {
            var alone = GenerationModels.Gpt2.Generate(s_requests[i].Prompt, Options(i));
            Assert.Equal(alone.TokenIds, results[i].TokenIds);
            Assert.Equal(alone.FinishReason, results[i].FinishReason);
            Assert.Equal(alone.Text, results[i].Text);
        }

        var stats = model.BatchingStatistics!;
        Assert.Equal(s_requests.Length, stats.Admitted);
        Assert.Equal(s_requests.Length, stats.Completed);
        Assert.Equal(0, stats.ActiveSequences);
        Assert.Equal(0, stats.WaitingRequests);

        // Four slots were full at once (the fifth and sixth arrivals waited for one), and steps were shared: far fewer
        // steps ran than ids were generated.
        Assert.Equal(4, stats.PeakActiveSequences);
        var generated = results.Sum(r => r.TokenIds.Count);
        Assert.Equal(generated, stats.GeneratedTokens);
        Assert.True(stats.Steps < generated * 0.6, $"{stats.Steps} steps for {generated} ids");
    }

    [Fact]
    public async Task SeededSampling_InTheBatch_EqualsTheSameRequestAlone()
    {
        using var model = OnnxDecoderModel.Load(GenerationModels.Gpt2Directory, new OnnxDecoderModelOptions { MaxBatchSize = 8 });
        GenerationOptions Sampled(int seed) => new() { MaxNewTokens = 20, Temperature = 0.9, TopK = 50, Seed = seed, RepetitionPenalty = 1.2 };

        var tasks = s_requests.Select((r, i) => model.GenerateAsync(r.Prompt, Sampled(i))).ToArray();
        var results = await Task.WhenAll(tasks);

        for (var i = 0; i < s_requests.Length; i++)
        {
            Assert.Equal(GenerationModels.Gpt2.Generate(s_requests[i].Prompt, Sampled(i)).TokenIds, results[i].TokenIds);
        }
    }

    [Fact]
    public async Task StreamingCallers_ThatStopOrCancel_FreeTheirSlot_AndAreCounted()
    {
        using var model = OnnxDecoderModel.Load(GenerationModels.Gpt2Directory, new OnnxDecoderModelOptions { MaxBatchSize = 2 });
        var longRun = new GenerationOptions { MaxNewTokens = 400 };

        // One stops listening after three ids (as a client that disconnects) ...
        var received = 0;
        await foreach (var update in model.GenerateStreamingAsync([0, 0, 0, 52], longRun))
        {
            if (++received == 3)
            {
                break;
            }
        }

        // ... another is cancelled through its token after two.
        using var cancellation = new CancellationTokenSource();
        var streamed = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in model.GenerateStreamingAsync([195, 731], longRun, cancellation.Token))
            {
                if (++streamed == 2)
                {
                    await cancellation.CancelAsync();
                }
            }
        });

        // A request admitted after both runs a round of the loop, which drops cancelled rows before it steps.
        var after = await model.GenerateAsync([5], new GenerationOptions { MaxNewTokens = 3 });
        Assert.Equal(GenerationModels.Gpt2.Generate([5], new GenerationOptions { MaxNewTokens = 3 }).TokenIds, after.TokenIds);

        var stats = model.BatchingStatistics!;
        Assert.Equal(2, stats.Cancelled);
        Assert.Equal(1, stats.Completed);
        Assert.Equal(0, stats.ActiveSequences);
        Assert.True(stats.GeneratedTokens < 400, $"{stats.GeneratedTokens} ids generated: the cancelled rows kept decoding");
    }

    [Fact]
    public async Task Disposing_TheModel_FailsWaitingRequests_AndGenerateAsyncRefusesAfterwards()
    {
        var model = OnnxDecoderModel.Load(GenerationModels.Gpt2Directory, new OnnxDecoderModelOptions { MaxBatchSize = 1 });
        Task<GenerationResult>? waiting = null;
        model.Batcher!.BeforeRound = round =>
        {
            if (round == 0)
            {
                // The only slot is taken: this one waits, and is failed when the model goes away.
                waiting = model.GenerateAsync([195, 731], new GenerationOptions { MaxNewTokens = 5 });
                model.Batcher.BeforeRound = null;
                _ = Task.Run(model.Dispose);

                // Hold this round until the disposal has asked the loop to stop, so the long request cannot finish first.
                Assert.True(model.Batcher.Stopping.WaitHandle.WaitOne(TimeSpan.FromMinutes(1)), "Dispose did not stop the loop");
            }
        };

        var first = model.GenerateAsync([0, 0, 0, 52], new GenerationOptions { MaxNewTokens = 400 });
        await Assert.ThrowsAsync<ObjectDisposedException>(() => first);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting!);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => model.GenerateAsync([5]));
    }

    [Fact]
    public void Options_MaxBatchSize_IsValidated()
    {
        var ex = Assert.Throws<InvalidOptionsException>(() => OnnxDecoderModel.Load(GenerationModels.Gpt2Directory, new OnnxDecoderModelOptions { MaxBatchSize = -1 }));
        Assert.Contains(nameof(OnnxDecoderModelOptions.MaxBatchSize), ex.Message, StringComparison.Ordinal);
    }

    private static GenerationOptions Options(int i) => new() { MaxNewTokens = s_requests[i].MaxNewTokens };
}
