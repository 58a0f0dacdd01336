using Spectre.Console;

namespace LlmAdapt.Cli.Retrieval;

/// <summary>A Spectre.Console progress bar on standard error when it is a terminal; silent otherwise (pipes, tests).</summary>
internal static class ProgressBar
{
    public static async Task RunAsync(CliContext context, string label, int total, Func<IProgress<int>, Task> work)
    {
        if (!ReferenceEquals(context.Error, Console.Error) || Console.IsErrorRedirected || total <= 0)
        {
            await work(new Direct(_ => { })).ConfigureAwait(false);
            return;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        await console.Progress().AutoClear(true).StartAsync(async progress =>
        {
            var task = progress.AddTask(label, maxValue: total);
            await work(new Direct(n => task.Value = n)).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private sealed class Direct(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
