using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Hosting.Tests;

/// <summary>
/// The short load test (the 60-second one is the benchmarks' <c>load</c> verb): 32 streaming clients on loopback
/// against the tiny GPT-2 served with continuous batching, a third of the first requests hanging up mid-stream.
/// </summary>
public sealed class LoadTests
{
    [Fact]
    public async Task ThirtyTwoClients_WithDisconnects_GetNo5xx_AndLeaveNoSlotOrKvSlotBehind()
    {
        using var model = OnnxDecoderModel.Load(GenerationModels.Gpt2Directory, new OnnxDecoderModelOptions { MaxBatchSize = 8 });
        using var chat = ServedModelsFixture.Gpt2Client(model);
        await using var server = await LoopbackServer.StartAsync(
            services => services.AddKeyedChatClient("gpt2", chat),
            options =>
            {
                options.ChatModels.Add("gpt2");
                options.MaxConcurrentRequests = 32;
                options.MaxOutputTokens = 400;
            });
        using var http = server.HttpClient(null);

        var report = await ServingLoad.RunAsync(http, "gpt2", clients: 32, requestsPerClient: 3, CancellationToken.None, disconnects: 24, maxTokens: 24, disconnectTokens: 400);

        Assert.True(report.Status5xx == 0 && report.TransportErrors == 0 && report.Truncated == 0, report.ToString());
        Assert.Equal(96, report.Ok);
        Assert.Equal(24, report.Disconnected);
        Assert.Equal(72, report.Completed);

        // The server hears of each hang-up on its own schedule: wait (bounded) until every slot is back.
        Assert.True(SpinWait.SpinUntil(() => server.BusySlots == 0 && model.BatchingStatistics!.ActiveSequences == 0, TimeSpan.FromMinutes(1)), $"{server.BusySlots} request slots and {model.BatchingStatistics!.ActiveSequences} KV slots still held");
        var stats = model.BatchingStatistics!;
        Assert.Equal(0, stats.WaitingRequests);
        Assert.Equal(0, stats.Failed);
        Assert.Equal(stats.Admitted, stats.Completed + stats.Cancelled);
        Assert.True(stats.PeakActiveSequences > 1, "no two requests ever shared a step");
    }
}
