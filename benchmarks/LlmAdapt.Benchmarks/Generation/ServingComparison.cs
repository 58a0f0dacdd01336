using System.Diagnostics;
using System.Globalization;
using LlmAdapt.Benchmarks.Training;
using LlmAdapt.Onnx.Generation;
using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Benchmarks.Generation;

/// <summary>
/// `compare serving [--clients 8] [--tokens 64] [--threads N] [--rounds 1]`: on the GPT-2-small-shaped model
/// (<see cref="Gpt2SmallFixture"/>), in one process and with the same ONNX Runtime thread budget:
/// <list type="number">
/// <item>one client: the requests one after another through <see cref="OnnxDecoderModel.GenerateStreamingAsync"/>;</item>
/// <item>N streaming clients arriving one stagger apart, served by the continuous batch (<c>MaxBatchSize</c> N);</item>
/// <item>N ONNX Runtime GenAI generators, one per request, on their own threads with the same arrivals (what a server
/// without batching does);</item>
/// <item>one GenAI generator given all N prompts as a static batch at once (its best case: no late arrivals).</item>
/// </list>
/// Each reports aggregate tokens/s (all ids over the span from the first arrival to the last id), p50/p95 time to
/// first token and p50/p95 time per output token (gaps between a request's ids), and process CPU time per id. The
/// closing line gives the wall-clock ratios with the machine's MatMul peak (ONNX Runtime, same threads) beside them; the
/// line before it the same ratios in CPU time per id, which a machine shared with other work does not distort.
/// </summary>
internal static class ServingComparison
{
    private const int PromptLength = 16;

    public static async Task<int> RunAsync(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int Arg(string name, int fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], inv) : fallback;
        }

        var clients = Arg("--clients", 8);
        var tokens = Arg("--tokens", 64);
        var threads = Arg("--threads", OnnxDecoderModelOptions.DefaultIntraOpThreads);
        var rounds = Arg("--rounds", 1);
        var directory = Gpt2SmallFixture.ExportedDirectory;

        // Prompts of GPT-2 ids from a fixed seed, all the same length so GenAI's static batch needs no padding.
        var random = new Random(20261203);
        var prompts = Enumerable.Range(0, clients).Select(_ => Enumerable.Range(0, PromptLength).Select(_ => random.Next(0, Gpt2SmallFixture.Vocab - 1)).ToArray()).ToArray();

        using var ours = OnnxDecoderModel.Load(directory, new OnnxDecoderModelOptions { IntraOpThreads = threads, MaxBatchSize = clients });
        using var config = new OrtGenAI.Config(directory);
        config.Overlay("{\"model\":{\"decoder\":{\"session_options\":{\"intra_op_num_threads\":" + threads.ToString(inv) + "}}}}");
        using var peer = new OrtGenAI.Model(config);

        // Same work on every side: greedy ids agree with GenAI's, and no request stops early.
        var alone = ours.Generate(prompts[0], Options(tokens));
        var peerIds = GenerationBenchmarks.RunPeer(peer, prompts[0], tokens);
        if (!peerIds.SequenceEqual(alone.Sequence) || alone.TokenIds.Count != tokens)
        {
            throw new InvalidOperationException($"gpt2small: the two generators disagree or stop early ({alone.TokenIds.Count} of {tokens} tokens).");
        }

        var peak = Measurements.MatMulPeak(threads);
        Console.WriteLine(string.Create(inv, $"gpt2small serving: {clients} requests × {tokens} new tokens, prompts of {PromptLength} ids, {threads} ONNX Runtime threads on {Environment.ProcessorCount} cores, load average {Measurements.LoadAverage()}"));

        // The stagger between arrivals: two single-client token times, so arrivals spread over the first steps.
        var single = new List<Scenario>();
        var batched = new List<Scenario>();
        var generators = new List<Scenario>();
        var staticBatch = new List<Scenario>();
        for (var round = 0; round < rounds; round++)
        {
            single.Add(await OneClientAsync(ours, prompts, tokens).ConfigureAwait(false));
            var stagger = TimeSpan.FromSeconds(2 * single[^1].TimePerToken(0.5));
            batched.Add(await BatchedClientsAsync(ours, prompts, tokens, stagger).ConfigureAwait(false));
            generators.Add(await PeerGeneratorsAsync(peer, prompts, tokens, stagger).ConfigureAwait(false));
            staticBatch.Add(PeerStaticBatch(peer, prompts, tokens));
            Console.WriteLine(string.Create(inv, $"round {round + 1}: stagger {stagger.TotalMilliseconds:F0} ms; peak batch {ours.BatchingStatistics!.PeakActiveSequences}; load average {Measurements.LoadAverage()}"));
        }

        Scenario Median(List<Scenario> runs) => runs.OrderBy(s => s.TokensPerSecond).ElementAt(runs.Count / 2);
        var (one, many, naive, best) = (Median(single), Median(batched), Median(generators), Median(staticBatch));
        Console.WriteLine("scenario                         tokens/s  cpu ms/token  ttft p50  ttft p95  tpot p50  tpot p95 (ms)");
        foreach (var s in new[] { one, many, naive, best })
        {
            Console.WriteLine(string.Create(inv, $"{s.Name,-32} {s.TokensPerSecond,8:F1}  {s.CpuMsPerToken,12:F1}  {s.FirstToken(0.5) * 1e3,8:F0}  {s.FirstToken(0.95) * 1e3,8:F0}  {s.TimePerToken(0.5) * 1e3,8:F1}  {s.TimePerToken(0.95) * 1e3,8:F1}"));
        }

        var stats = ours.BatchingStatistics!;
        Console.WriteLine(string.Create(inv, $"continuous batch: {stats.Admitted} admitted, {stats.Completed} completed, {stats.Cancelled} cancelled, {stats.ActiveSequences} active after, {stats.Steps} steps for {stats.GeneratedTokens} ids"));
        Console.WriteLine(string.Create(inv, $"peak MatMul {peak:F1} GFLOP/s (ONNX Runtime, {threads} threads); load average {Measurements.LoadAverage()}"));
        // On a loaded machine wall time counts time spent waiting for a core; CPU time per token does not.
        Console.WriteLine(string.Create(inv, $"cpu_time: concurrency_speedup={one.CpuMsPerToken / many.CpuMsPerToken:F3} ratio_vs_ortgenai_generators={naive.CpuMsPerToken / many.CpuMsPerToken:F3} ratio_vs_ortgenai_static_batch={best.CpuMsPerToken / many.CpuMsPerToken:F3}"));
        Console.WriteLine(string.Create(inv, $"concurrency_speedup={many.TokensPerSecond / one.TokensPerSecond:F3} ratio_vs_ortgenai_generators={many.TokensPerSecond / naive.TokensPerSecond:F3} ratio_vs_ortgenai_static_batch={many.TokensPerSecond / best.TokensPerSecond:F3} tokens_per_s={many.TokensPerSecond:F1} ttft_p95_ms={many.FirstToken(0.95) * 1e3:F0} tpot_p95_ms={many.TimePerToken(0.95) * 1e3:F1} peak_gflops={peak:F1}"));
        return 0;
    }

    private static GenerationOptions Options(int tokens) => new() { MaxNewTokens = tokens };

    private static async Task<Scenario> OneClientAsync(OnnxDecoderModel model, int[][] prompts, int tokens)
    {
        var scenario = new Scenario("llmadapt 1 client (sequential)");
        scenario.Start();
        foreach (var prompt in prompts)
        {
            await ConsumeAsync(model, prompt, tokens, scenario, TimeSpan.Zero).ConfigureAwait(false);
        }

        scenario.Stop();
        return scenario;
    }

    private static async Task<Scenario> BatchedClientsAsync(OnnxDecoderModel model, int[][] prompts, int tokens, TimeSpan stagger)
    {
        var scenario = new Scenario($"llmadapt {prompts.Length} clients (batched)");
        scenario.Start();
        await Task.WhenAll(prompts.Select((prompt, i) => Task.Run(() => ConsumeAsync(model, prompt, tokens, scenario, stagger * i)))).ConfigureAwait(false);
        scenario.Stop();
        return scenario;
    }

    private static async Task ConsumeAsync(OnnxDecoderModel model, int[] prompt, int tokens, Scenario scenario, TimeSpan arrival)
    {
        await Task.Delay(arrival).ConfigureAwait(false);
        var request = scenario.Arrive();
        await foreach (var update in model.GenerateStreamingAsync(prompt, Options(tokens)).ConfigureAwait(false))
        {
            if (update.TokenId >= 0)
            {
                request.Token();
            }
        }
    }

    private static async Task<Scenario> PeerGeneratorsAsync(OrtGenAI.Model model, int[][] prompts, int tokens, TimeSpan stagger)
    {
        var scenario = new Scenario($"ortgenai {prompts.Length} generators");
        scenario.Start();
        var threads = prompts.Select((prompt, i) => Task.Factory.StartNew(
            () =>
            {
                Thread.Sleep(stagger * i);
                var request = scenario.Arrive();
                GenerationBenchmarks.RunPeer(model, prompt, tokens, request.Token);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default));
        await Task.WhenAll(threads).ConfigureAwait(false);
        scenario.Stop();
        return scenario;
    }

    private static Scenario PeerStaticBatch(OrtGenAI.Model model, int[][] prompts, int tokens)
    {
        var scenario = new Scenario($"ortgenai static batch of {prompts.Length}");
        scenario.Start();
        var requests = prompts.Select(_ => scenario.Arrive()).ToArray();
        using var parameters = new OrtGenAI.GeneratorParams(model);
        parameters.SetSearchOption("batch_size", prompts.Length);
        parameters.SetSearchOption("max_length", PromptLength + tokens);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new OrtGenAI.Generator(model, parameters);
        generator.AppendTokens(prompts.SelectMany(p => p).ToArray());
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
            foreach (var request in requests)
            {
                request.Token();
            }
        }

        scenario.Stop();
        return scenario;
    }

    /// <summary>The timings of one scenario: arrivals and the time of every id of every request.</summary>
    private sealed class Scenario(string name)
    {
        private readonly List<Request> _requests = [];
        private long _start;
        private long _end;
        private TimeSpan _cpuStart;
        private TimeSpan _cpu;

        public string Name { get; } = name;

        public double TokensPerSecond => _requests.Sum(r => r.Times.Count) / Seconds(_start, _end);

        public double CpuMsPerToken => _cpu.TotalMilliseconds / _requests.Sum(r => r.Times.Count);

        public void Start()
        {
            _cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
            _start = Stopwatch.GetTimestamp();
        }

        public void Stop()
        {
            _end = Stopwatch.GetTimestamp();
            _cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpuStart;
        }

        public Request Arrive()
        {
            var request = new Request(Stopwatch.GetTimestamp());
            lock (_requests)
            {
                _requests.Add(request);
            }

            return request;
        }

        public double FirstToken(double quantile) => Quantile(_requests.Where(r => r.Times.Count > 0).Select(r => Seconds(r.Arrival, r.Times[0])), quantile);

        public double TimePerToken(double quantile) => Quantile(_requests.SelectMany(r => r.Times.Zip(r.Times.Skip(1), (a, b) => Seconds(a, b))), quantile);

        private static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

        private static double Quantile(IEnumerable<double> values, double quantile)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
        }
    }

    private sealed class Request(long arrival)
    {
        public long Arrival { get; } = arrival;

        public List<long> Times { get; } = [];

        public void Token() => Times.Add(Stopwatch.GetTimestamp());
    }
}
