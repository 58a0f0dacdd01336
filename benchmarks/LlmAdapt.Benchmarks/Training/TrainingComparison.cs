using System.Diagnostics;
using System.Globalization;
using LlmAdapt.Training.Kernels;
using LlmAdapt.Training.Models.Gpt2;
using LlmAdapt.Training.Models.Llama;

namespace LlmAdapt.Benchmarks.Training;

/// <summary>
/// `compare training [--rounds N]`: in one process, first the training steps (so the 4-layer run's peak RSS is read
/// before anything larger is allocated): the 4-layer GPT-2 with every weight and with rank-8 LoRA, the Llama as wide,
/// then every multiply of <see cref="MatMulShape.Transformer"/> on the engine and on ONNX Runtime, alternating which
/// goes first each round, and last the SmolLM2-135M-shaped Llama's rank-16 LoRA step on 256 tokens. Each figure is the
/// median over the rounds. Each shape's line also gives the machine's fused multiply-add ceiling on the same threads
/// (<see cref="Measurements.FmaPeak"/>) and both libraries' GFLOP/s as percentages of it. MFU divides model FLOP/s by
/// the best MatMul GFLOP/s measured in the run (either library).
/// The last line: the minimum GFLOP/s ratio over the shapes (not a mean), MFUs, LoRA/full step cost (time) beside the
/// LoRA step's share of the full step's model FLOPs, tokens/s, RSS.
/// <c>--threads 1 --cpu-time</c> runs everything on the calling thread and times it by that thread's CPU time
/// (Linux), which stays meaningful on a machine shared with other work, where wall-clock times are not.
/// <c>--best</c> takes each multiply's fastest single call and each step's fastest round instead of medians (on a
/// loaded machine those are the calls that found the cores free); <c>--scaling</c> prints only the multiplies, each
/// on one thread and on <c>--threads</c> (default 2), with both libraries' speed-ups. <c>--shapes a,b</c> times only the
/// named multiplies (names as printed; no training steps), ending with the same ratio line over those shapes.
/// Where a multiply is by a weight, ONNX Runtime gets it as an initializer (packed once at session creation) and the
/// engine packs it once too (<see cref="MatMul.Pack{T}"/>, as a LoRA step does with its frozen base);
/// <c>--repack</c> makes the engine pack it again in every call instead, as a full step does, where weights change.
/// </summary>
internal static unsafe class TrainingComparison
{
    public static Task<int> RunAsync(string[] args)
    {
        var rounds = 7;
        var threads = Environment.ProcessorCount;
        IReadOnlyList<MatMulShape> shapes = MatMulShape.Transformer;
        var onlyShapes = false;
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--shapes")
            {
                var names = args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var unknown = names.Where(name => MatMulShape.Transformer.All(s => s.Name != name)).ToList();
                if (unknown.Count > 0 || names.Length == 0)
                {
                    Console.Error.WriteLine($"--shapes: unknown shape(s) {string.Join(", ", unknown)}; the shapes are {string.Join(", ", MatMulShape.Transformer.Select(s => s.Name))}.");
                    return Task.FromResult(2);
                }

                shapes = MatMulShape.Transformer.Where(s => names.Contains(s.Name)).ToList();
                onlyShapes = true;
            }
            else if (args[i] == "--rounds")
            {
                rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }
            else if (args[i] == "--threads")
            {
                threads = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }
        }

        s_cpuTime = args.Contains("--cpu-time");
        s_best = args.Contains("--best");
        s_prePack = !args.Contains("--repack");
        if (s_cpuTime && (threads != 1 || !OperatingSystem.IsLinux()))
        {
            Console.Error.WriteLine("--cpu-time needs --threads 1 on Linux (it reads the calling thread's CPU clock).");
            return Task.FromResult(2);
        }

        var inv = CultureInfo.InvariantCulture;
        if (args.Contains("--scaling"))
        {
            return Task.FromResult(Scaling(shapes, rounds, threads == Environment.ProcessorCount ? 2 : threads));
        }

        Console.WriteLine(string.Create(inv, $"{Environment.ProcessorCount} cores, {threads} threads, kernel {MatMul.Best}, load average {Measurements.LoadAverage()}, {rounds} rounds (medians of {(s_cpuTime ? "thread CPU time" : "wall-clock time")}); weights packed {(s_prePack ? "once by both" : "once by ONNX Runtime, in every call by the engine (--repack)")}"));
        if (onlyShapes)
        {
            WarmUp(shapes, threads);
            var (only, onlyPeak, onlyFma) = Multiplies(shapes, rounds, threads);
            Console.WriteLine(string.Create(inv, $"load average {Measurements.LoadAverage()}"));
            Console.WriteLine(string.Create(inv, $"matmul_ratio_vs_ort={only.Min():F3} (min of {only.Count}; geomean {Math.Exp(only.Average(Math.Log)):F3}) peak_gflops={onlyPeak:F1} fma_peak_gflops={onlyFma:F1}"));
            return Task.FromResult(0);
        }

        var gpt2 = new TrainingStep(new Gpt2Model<float>(TrainingStep.Gpt2), TrainingStep.Gpt2.Channels, 8, 128, 0, threads);
        var gpt2Lora = new TrainingStep(new Gpt2Model<float>(TrainingStep.Gpt2), TrainingStep.Gpt2.Channels, 8, 128, 8, threads);
        var (gpt2Seconds, gpt2LoraSeconds) = TimeTwo(gpt2, gpt2Lora, rounds);
        var gpt2Rss = PeakRssGb();
        var (tokens, gpt2Flops) = (gpt2.TokensPerStep, gpt2.FlopsPerToken);

        // The LoRA step's model FLOPs over the full step's: the cost it would have if both ran at the same FLOP/s (it
        // skips the weight gradients, two of every six FLOPs per frozen weight, and keeps the forward and input gradients).
        var loraFlopShare = gpt2Lora.FlopsPerToken / gpt2Flops;
        gpt2 = gpt2Lora = null!;
        GC.Collect();
        var llama = new TrainingStep(new LlamaModel<float>(TrainingStep.SmallLlama), 128, 8, 128, 0, threads);
        var llamaSeconds = Time(llama, 2, rounds);
        var llamaFlops = llama.FlopsPerToken;
        llama = null!;
        GC.Collect();

        var (ratios, peak, fmaPeak) = Multiplies(shapes, rounds, threads);
        var smol = new TrainingStep(new LlamaModel<float>(TrainingStep.SmolLm2), TrainingStep.SmolLm2.Channels, 1, 256, 16, threads);
        var smolSeconds = Time(smol, 1, Math.Max(3, rounds / 2));
        var smolRss = PeakRssGb();

        double Mfu(double tokensPerSecond, double flopsPerToken) => tokensPerSecond * flopsPerToken / (peak * 1e9);
        var gpt2Tokens = tokens / gpt2Seconds;
        var gpt2Mfu = Mfu(gpt2Tokens, gpt2Flops);
        var llamaMfu = Mfu(tokens / llamaSeconds, llamaFlops);
        var smolMfu = Mfu(smol.TokensPerStep / smolSeconds, smol.FlopsPerToken);
        Console.WriteLine(string.Create(inv, $"gpt2 4×128 step (B 8, T 128): {gpt2Seconds * 1e3:F0} ms, {gpt2Tokens:F0} tokens/s at {gpt2Flops / 1e6:F1} MFLOP/token, mfu {gpt2Mfu:F3}, peak RSS {gpt2Rss:F2} GB"));
        Console.WriteLine(string.Create(inv, $"gpt2 rank-8 LoRA step: {gpt2LoraSeconds * 1e3:F0} ms = {gpt2LoraSeconds / gpt2Seconds:F2} × the full step (its model FLOPs: {loraFlopShare:F2} × the full step's)"));
        Console.WriteLine(string.Create(inv, $"llama 4×128 step: {llamaSeconds * 1e3:F0} ms, {tokens / llamaSeconds:F0} tokens/s at {llamaFlops / 1e6:F1} MFLOP/token, mfu {llamaMfu:F3}"));
        Console.WriteLine(string.Create(inv, $"smollm2-135m rank-16 LoRA step (T 256): {smolSeconds:F2} s, {smol.TokensPerStep / smolSeconds:F0} tokens/s at {smol.FlopsPerToken / 1e6:F1} MFLOP/token, mfu {smolMfu:F3}, peak RSS {smolRss:F2} GB"));
        Console.WriteLine(string.Create(inv, $"peak MatMul {peak:F1} GFLOP/s, FMA ceiling {fmaPeak:F1} GFLOP/s, on {threads} of {Environment.ProcessorCount} cores; load average {Measurements.LoadAverage()}"));
        Console.WriteLine(string.Create(inv, $"matmul_ratio_vs_ort={ratios.Min():F3} (min of {ratios.Count}; geomean {Math.Exp(ratios.Average(Math.Log)):F3}) mfu={gpt2Mfu:F3} llama_mfu={llamaMfu:F3} tokens_per_s={gpt2Tokens:F0} lora_step_cost={gpt2LoraSeconds / gpt2Seconds:F2} lora_flop_share={loraFlopShare:F2} smollm2_lora_mfu={smolMfu:F3} smollm2_tokens_per_s={smol.TokensPerStep / smolSeconds:F0} rss_gb={gpt2Rss:F2} smollm2_rss_gb={smolRss:F2} peak_gflops={peak:F1} fma_peak_gflops={fmaPeak:F1}"));
        return Task.FromResult(0);
    }

    /// <summary>
    /// Warms up every kernel route first (40 calls of each shape below 1 GFLOP, then a pause for the JIT's background
    /// recompilation), so the first shapes are not timed on the first-tier code.
    /// </summary>
    private static void WarmUp(IReadOnlyList<MatMulShape> shapes, int threads)
    {
        foreach (var shape in shapes.Where(s => s.Flops < 1e9))
        {
            using var warm = new MatMulBenchmarks.Pair(shape, threads, s_prePack);
            for (var i = 0; i < 40; i++)
            {
                warm.RunEngine();
                warm.RunOnnxRuntime();
            }
        }

        Thread.Sleep(500);
    }

    /// <summary>
    /// Times each shape on both libraries, printing one line per shape with each library's share of the FMA ceiling
    /// (<see cref="Measurements.FmaPeak"/> on the same threads, the higher of its readings just before and just after the shape's rounds); returns the
    /// ratios, the best MatMul GFLOP/s seen and the highest FMA ceiling measured.
    /// </summary>
    private static (List<double> Ratios, double Peak, double FmaPeak) Multiplies(IReadOnlyList<MatMulShape> shapes, int rounds, int threads)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine("shape          M × K × N              op      engine GFLOP/s  onnxruntime GFLOP/s  ratio  max rel diff  FMA peak  engine %  ort %");
        var ratios = new List<double>();
        var (peak, fmaPeak) = (0.0, 0.0);
        foreach (var shape in shapes)
        {
            var ceiling = Ceiling();
            using var pair = new MatMulBenchmarks.Pair(shape, threads, s_prePack);
            var (e, o, ratio) = TimePair(pair, shape, rounds);
            ceiling = Math.Max(ceiling, Ceiling());
            var difference = pair.RelativeDifference();
            ratios.Add(ratio);
            peak = Math.Max(peak, Math.Max(e, o));
            fmaPeak = Math.Max(fmaPeak, ceiling);
            Console.WriteLine(string.Create(inv, $"{shape.Name,-14} {$"{shape.M} × {shape.K} × {shape.N}",-22} {shape.Op,-7} {e,14:F1}  {o,19:F1}  {ratio,5:F3}  {difference,12:E1}  {ceiling,8:F1}  {100 * e / ceiling,8:F1}  {100 * o / ceiling,5:F1}"));
        }

        return (ratios, peak, fmaPeak);

        // The ceiling before and after a shape's rounds (the higher counts: a burst that shared a core with a background
        // thread reads low), with both libraries' pool threads at rest (they spin for a while after a run).
        double Ceiling()
        {
            if (threads > 1)
            {
                Thread.Sleep(TurnPause);
            }

            return Measurements.FmaPeak(threads, Now);
        }
    }

    /// <summary>The pause between turns on more than one thread (see <see cref="TimePair"/>).</summary>
    private static readonly TimeSpan TurnPause = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// Median GFLOP/s of the engine and of ONNX Runtime on one shape, timed alternately (who goes first swaps each round),
    /// and their ratio: the median over the rounds of the engine's rate over ONNX Runtime's in the same round, so a
    /// change in the machine's speed between rounds (this VM's one-core rate moves between about 95 and 155 GFLOP/s)
    /// weighs on both sides of each ratio alike. With <c>--best</c>: each side's fastest call, and their ratio.
    /// </summary>
    private static (double Engine, double Peer, double Ratio) TimePair(MatMulBenchmarks.Pair pair, MatMulShape shape, int rounds)
    {
        var reps = Math.Max(1, (int)((pair.Threads > 1 ? 2e9 : 3e8) / shape.Flops));
        pair.RunEngine();
        pair.RunOnnxRuntime();
        var (engine, peer) = Measurements.Alternate(rounds, () => Turn(pair.RunEngine), () => Turn(pair.RunOnnxRuntime));
        return s_best
            ? (engine.Max(), peer.Max(), engine.Max() / peer.Max())
            : (Measurements.Median(engine), Measurements.Median(peer), Measurements.Median(engine.Zip(peer, (e, o) => e / o)));

        // One library's turn: its GFLOP/s over reps calls (or its fastest call with --best).
        double Turn(Action run)
        {
            // With more than one thread, a pause between turns: ONNX Runtime's pool threads spin for tens of
            // milliseconds after a run (measured here: a whole core for 20 ms, 15–50 ms of CPU in the 100 ms
            // after), and a turn of the other library inside that window would share a core with them. Each
            // turn starts with both libraries' helpers idle; one untimed call wakes them, and the turn then times
            // 2 GFLOP of calls back to back, as a training step makes them (one step of the 4-layer GPT-2 is
            // 163 parallel calls in a row). Timing only the 0.3 GFLOP after a cold start, as before, measured
            // mostly how soon this VM ran a woken thread (60 µs to several ms) on calls of 0.2–1 ms.
            if (pair.Threads > 1)
            {
                Thread.Sleep(TurnPause);
                run();
            }

            var start = Now();
            var fastest = double.MaxValue;
            for (var i = 0; i < reps; i++)
            {
                var call = s_best ? Now() : 0;
                run();
                fastest = s_best ? Math.Min(fastest, Now() - call) : fastest;
            }

            return shape.Flops / (s_best ? fastest : (Now() - start) / reps) / 1e9;
        }
    }

    /// <summary>
    /// `compare training --scaling [--threads N]`: every shape on one thread and on N (default 2), engine and ONNX
    /// Runtime side by side (wall clock), with each library's N-thread/one-thread speed-up, so it shows where a
    /// library loses its scaling; ends with the minimum and geomean ratio at N threads.
    /// </summary>
    private static int Scaling(IReadOnlyList<MatMulShape> shapes, int rounds, int threads)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"{Environment.ProcessorCount} cores, 1 vs {threads} threads, kernel {MatMul.Best}, load average {Measurements.LoadAverage()}, {rounds} rounds ({(s_best ? "fastest call" : "wall-clock medians")})"));
        Console.WriteLine(string.Create(inv, $"shape          M × K × N              MFLOP   engine 1t  {threads}t  speed-up   ort 1t  {threads}t  speed-up   ratio 1t  {threads}t"));
        WarmUp(shapes, threads);
        var ratios = new List<double>();
        foreach (var shape in shapes)
        {
            double e1, o1, e2, o2;
            using (var one = new MatMulBenchmarks.Pair(shape, 1, s_prePack))
            {
                (e1, o1, _) = TimePair(one, shape, rounds);
            }

            using (var many = new MatMulBenchmarks.Pair(shape, threads, s_prePack))
            {
                (e2, o2, _) = TimePair(many, shape, rounds);
            }

            ratios.Add(e2 / o2);
            Console.WriteLine(string.Create(inv, $"{shape.Name,-14} {$"{shape.M} × {shape.K} × {shape.N}",-22} {shape.Flops / 1e6,6:F1} {e1,10:F1} {e2,5:F1} {e2 / e1,8:F2} {o1,9:F1} {o2,5:F1} {o2 / o1,8:F2} {e1 / o1,9:F3} {e2 / o2,5:F3}"));
        }

        Console.WriteLine(string.Create(inv, $"load average {Measurements.LoadAverage()}"));
        Console.WriteLine(string.Create(inv, $"scaling_ratio_vs_ort={ratios.Min():F3} (min of {ratios.Count} at {threads} threads; geomean {Math.Exp(ratios.Average(Math.Log)):F3})"));
        return 0;
    }

    /// <summary>Median step seconds of two steps timed alternately (<see cref="Measurements.Alternate{T}"/>, after two warm-up steps each).</summary>
    private static (double First, double Second) TimeTwo(TrainingStep first, TrainingStep second, int rounds)
    {
        for (var i = 0; i < 2; i++)
        {
            first.Run();
            second.Run();
        }

        var (a, b) = Measurements.Alternate(rounds, () => Seconds(first), () => Seconds(second));
        return s_best ? (a.Min(), b.Min()) : (Measurements.Median(a), Measurements.Median(b));

        static double Seconds(TrainingStep step)
        {
            var start = Now();
            step.Run();
            return Now() - start;
        }
    }

    private static double Time(TrainingStep step, int warmup, int rounds)
    {
        for (var i = 0; i < warmup; i++)
        {
            step.Run();
        }

        var times = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var start = Now();
            step.Run();
            times.Add(Now() - start);
        }

        return s_best ? times.Min() : Measurements.Median(times);
    }

    private static bool s_cpuTime;

    /// <summary>Whether a multiply's figure is its fastest single call (<c>--best</c>: on a loaded machine, the calls that found every core free) rather than the median of the rounds.</summary>
    private static bool s_best;

    /// <summary>Whether the engine packs a weight (a constant B) once, as ONNX Runtime packs an initializer (not with <c>--repack</c>).</summary>
    private static bool s_prePack = true;

    /// <summary>Seconds on the wall clock, or of this thread's CPU time with <c>--cpu-time</c>.</summary>
    private static double Now()
    {
        if (!s_cpuTime)
        {
            return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        }

        long* spec = stackalloc long[2];
        return ClockGetTime(3, spec) == 0 ? spec[0] + (spec[1] * 1e-9) : throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed.");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, long* spec);

    private static double PeakRssGb()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PeakWorkingSet64 / 1e9;
    }

}
