using LlmAdapt.Retrieval.Composition;
using Spectre.Console;

namespace LlmAdapt.Cli.Retrieval;

/// <summary>A Spectre.Console progress bar on standard error when it is a terminal; silent otherwise (pipes, tests).</summary>
internal static class ProgressBar
{
    public static Task RunAsync(CliContext context, string label, int total, Func<IProgress<int>, Task> work) =>
        total <= 0
            ? work(new Direct<int>(_ => { }))
            : RunAsync<bool>(context, label, async progress =>
            {
                await work(new Direct<int>(n => progress.Report(new FolderIndexProgress(n, total)))).ConfigureAwait(false);
                return true;
            });

    /// <summary>Runs <paramref name="work"/>, whose total becomes known as it reports.</summary>
    public static async Task<T> RunAsync<T>(CliContext context, string label, Func<IProgress<FolderIndexProgress>, Task<T>> work)
    {
        if (!ReferenceEquals(context.Error, Console.Error) || Console.IsErrorRedirected)
        {
            return await work(new Direct<FolderIndexProgress>(_ => { })).ConfigureAwait(false);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress().AutoClear(true).StartAsync(async progress =>
        {
            var task = progress.AddTask(label, maxValue: 1);
            task.IsIndeterminate = true;
            return await work(new Direct<FolderIndexProgress>(p =>
            {
                task.IsIndeterminate = false;
                task.MaxValue = Math.Max(1, p.Total);
                task.Value = p.Indexed;
            })).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    private sealed class Direct<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
