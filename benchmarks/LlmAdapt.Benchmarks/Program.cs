using BenchmarkDotNet.Running;
using LlmAdapt.Benchmarks;

// `compare NAME` runs a side-by-side comparison against a peer and ends with one line of ratios;
// `load` puts the served model under concurrent streaming clients for a bounded time;
// anything else goes to BenchmarkDotNet's switcher (for example `--filter *TokenCounting*`).
if (args.Length >= 1 && args[0] == "compare")
{
    return await Comparisons.RunAsync(args.Skip(1).ToArray()).ConfigureAwait(false);
}

if (args.Length >= 1 && args[0] == "load")
{
    return await LlmAdapt.Benchmarks.Generation.ServingLoadVerb.RunAsync(args.Skip(1).ToArray()).ConfigureAwait(false);
}

BenchmarkSwitcher.FromAssembly(typeof(Comparisons).Assembly).Run(args);
return 0;
