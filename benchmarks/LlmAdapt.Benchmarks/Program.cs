using BenchmarkDotNet.Running;
using LlmAdapt.Benchmarks;

// `compare NAME` runs a side-by-side comparison against a peer and ends with one line of ratios;
// anything else goes to BenchmarkDotNet's switcher (for example `--filter *TokenCounting*`).
if (args.Length >= 1 && args[0] == "compare")
{
    return await Comparisons.RunAsync(args.Skip(1).ToArray()).ConfigureAwait(false);
}

BenchmarkSwitcher.FromAssembly(typeof(Comparisons).Assembly).Run(args);
return 0;
