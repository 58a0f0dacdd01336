using System.Diagnostics;
using System.Globalization;
using LlmAdapt.Hosting.Tests;
using LlmAdapt.Onnx.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Benchmarks.Generation;

/// <summary>
/// `load [--clients 32] [--seconds 60] [--disconnects 200] [--model gpt2|gpt2small] [--max-batch 16] [--max-tokens 32]`:
/// the served model under load on loopback. Streaming clients send requests one after another until the deadline (the
/// run stops itself), every third of the first ones hanging up after its first chunk; afterwards it counts request slots
/// and KV-cache slots still held (both must be 0), 5xx answers (must be 0), and compares the process's memory after the
/// warm-up (the first sixth of the run) with its memory at the end. Exit code 1 when any of those fails.
/// </summary>
internal static class ServingLoadVerb
{
    /// <summary>What a request that hangs up asks for (the tiny GPT-2 has 512 positions): it is still decoding when its client goes.</summary>
    private const int DisconnectTokens = 480;

    public static async Task<int> RunAsync(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        string Arg(string name, string fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }

        var clients = int.Parse(Arg("--clients", "32"), inv);
        var seconds = int.Parse(Arg("--seconds", "60"), inv);
        var disconnects = int.Parse(Arg("--disconnects", "200"), inv);
        var modelName = Arg("--model", "gpt2");
        var maxBatch = int.Parse(Arg("--max-batch", "16"), inv);
        var maxTokens = int.Parse(Arg("--max-tokens", "32"), inv);

        using var model = OnnxDecoderModel.Load(GenerationBenchmarks.DirectoryOf(modelName), new OnnxDecoderModelOptions { MaxBatchSize = maxBatch });
        using var chat = new OnnxChatClient(model, new OnnxChatClientOptions { Formatter = messages => messages[^1].Text!, ModelId = modelName });
        await using var server = await LoopbackServer.StartAsync(
            services => services.AddKeyedChatClient(modelName, chat),
            options =>
            {
                options.ChatModels.Add(modelName);
                options.MaxConcurrentRequests = clients;
                options.MaxOutputTokens = DisconnectTokens;
            }).ConfigureAwait(false);
        using var http = server.HttpClient(null);
        Console.WriteLine(string.Create(inv, $"load: {clients} streaming clients for {seconds} s on {server.BaseAddress}, model {modelName} (continuous batch of {maxBatch}), {disconnects} disconnects mid-stream; load average {Measurements.LoadAverage()}"));

        // Memory every second: the warm-up ends after a sixth of the run; from then on it should stay flat.
        using var process = Process.GetCurrentProcess();
        var samples = new List<(double Seconds, long Rss)>();
        var managedWarm = 0L;
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            while (await timer.WaitForNextTickAsync().ConfigureAwait(false) && !deadline.IsCancellationRequested)
            {
                process.Refresh();
                var at = clock.Elapsed.TotalSeconds;
                if (managedWarm == 0 && at >= seconds / 6.0)
                {
                    // The managed heap after a full collection: what is still referenced once the warm-up is over.
                    managedWarm = GC.GetTotalMemory(forceFullCollection: true);
                }

                lock (samples)
                {
                    samples.Add((at, process.WorkingSet64));
                }
            }
        });

        var report = await ServingLoad.RunAsync(http, modelName, clients, int.MaxValue, deadline.Token, disconnects, maxTokens, DisconnectTokens).ConfigureAwait(false);
        var elapsed = clock.Elapsed.TotalSeconds;
        await sampler.ConfigureAwait(false);

        // The server hears of hang-ups on its own schedule: give it (bounded) time to hand every slot back.
        SpinWait.SpinUntil(() => server.BusySlots == 0 && model.BatchingStatistics!.ActiveSequences == 0, TimeSpan.FromSeconds(30));
        var stats = model.BatchingStatistics!;
        var warm = samples.Where(s => s.Seconds >= seconds / 6.0).ToList();
        double Mb(long bytes) => bytes / 1048576.0;
        var (rssWarm, rssEnd, rssMax) = warm.Count == 0 ? (0.0, 0.0, 0.0) : (Mb(warm[0].Rss), Mb(warm[^1].Rss), Mb(warm.Max(s => s.Rss)));
        var managedEnd = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(report);
        Console.WriteLine(string.Create(inv, $"continuous batch: {stats.Admitted} admitted, {stats.Completed} completed, {stats.Cancelled} cancelled, {stats.Failed} failed, {stats.ActiveSequences} active and {stats.WaitingRequests} waiting after, peak {stats.PeakActiveSequences}, {stats.Steps} steps for {stats.GeneratedTokens} ids ({stats.GeneratedTokens / elapsed:F0} ids/s)"));
        Console.WriteLine(string.Create(inv, $"memory after warm-up (from {seconds / 6.0:F0} s): RSS {rssWarm:F0} MB -> {rssEnd:F0} MB (max {rssMax:F0}), managed heap after a full collection {Mb(managedWarm):F0} MB -> {Mb(managedEnd):F0} MB; load average {Measurements.LoadAverage()}"));
        var leakedSlots = server.BusySlots;
        var leakedKv = stats.ActiveSequences;
        Console.WriteLine(string.Create(inv, $"status_5xx={report.Status5xx} leaked_request_slots={leakedSlots} leaked_kv_slots={leakedKv} disconnects={report.Disconnected} cancelled={stats.Cancelled} requests={report.Requests} rss_growth_mb={rssEnd - rssWarm:F0} managed_growth_mb={Mb(managedEnd - managedWarm):F0} ids_per_s={stats.GeneratedTokens / elapsed:F0}"));
        return report.Status5xx == 0 && report.TransportErrors == 0 && leakedSlots == 0 && leakedKv == 0 ? 0 : 1;
    }
}
