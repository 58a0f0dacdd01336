using LlmAdapt.Formats;
using LlmAdapt.Training;
using Spectre.Console;

namespace LlmAdapt.Cli.Training;

/// <summary>Shows a training run: a Spectre.Console progress bar with loss and tokens/s, and an optional loss-curve plot.</summary>
internal static class TrainingConsole
{
    /// <summary>Runs <paramref name="train"/> under a progress bar drawn on standard error.</summary>
    public static async Task<FineTunedArtifact> RunAsync(CliContext context, string title, int totalSteps, Func<IProgress<TrainingProgress>, Task<FineTunedArtifact>> train)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(context.Error) });
        var interactive = console.Profile.Capabilities.Interactive;
        FineTunedArtifact? artifact = null;
        double? lastValidation = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(title, maxValue: totalSteps);
                var progress = new Progress(p =>
                {
                    lastValidation = p.ValidationLoss ?? lastValidation;
                    var validation = lastValidation is { } v ? $" val {v:F3}" : string.Empty;
                    task.Description = $"{title} step {p.Step}/{p.TotalSteps} loss {p.TrainingLoss:F3}{validation} {p.ItemsPerSecond:F0} tok/s";
                    task.Value = p.Step;
                    if (!interactive && (p.ValidationLoss is not null || p.Step == 1))
                    {
                        context.Error.WriteLine($"step {p.Step}/{p.TotalSteps} loss {p.TrainingLoss:F4}{validation} lr {p.LearningRate:E2} {p.ItemsPerSecond:F0} tok/s elapsed {p.Elapsed:hh\\:mm\\:ss}");
                    }
                });
                artifact = await train(progress).ConfigureAwait(false);
            }).ConfigureAwait(false);
        return artifact!;
    }

    /// <summary>
    /// The one loss-plot writer of the tool: the training and validation loss curves as a PNG (atomically), by step or
    /// (for runs that report once an epoch) by epoch, with <paramref name="metrics"/> from each step's metrics on a
    /// right-hand axis.
    /// </summary>
    public static async Task WritePlotAsync(TrainingReport report, string path, string title, IReadOnlyList<string>? metrics = null, bool byEpoch = false, CancellationToken cancellationToken = default)
    {
        var plot = new ScottPlot.Plot();
        double X(TrainingProgress h) => byEpoch ? h.Epoch : h.Step;
        var steps = report.History.Select(X).ToArray();
        var train = plot.Add.Scatter(steps, report.History.Select(h => h.TrainingLoss).ToArray());
        train.LegendText = "training loss";
        train.MarkerSize = 0;
        var validated = report.History.Where(h => h.ValidationLoss is not null).ToArray();
        if (validated.Length > 0)
        {
            var validation = plot.Add.Scatter(validated.Select(X).ToArray(), validated.Select(h => h.ValidationLoss!.Value).ToArray());
            validation.LegendText = "validation loss";
        }

        foreach (var name in metrics ?? [])
        {
            var points = report.History.Where(h => h.Metrics?.ContainsKey(name) == true).ToArray();
            if (points.Length > 0)
            {
                var curve = plot.Add.Scatter(points.Select(X).ToArray(), points.Select(h => h.Metrics![name]).ToArray());
                curve.LegendText = name;
                curve.MarkerSize = points.Length > 50 ? 0 : 4;
                curve.Axes.YAxis = plot.Axes.Right;
                plot.Axes.Right.Label.Text = string.Join(", ", metrics!);
            }
        }

        plot.Title(title);
        plot.XLabel(byEpoch ? "epoch" : "step");
        plot.YLabel(byEpoch ? "loss (nats/example)" : "loss (nats/token)");
        plot.ShowLegend();
        var bytes = plot.GetImageBytes(900, 540, ScottPlot.ImageFormat.Png);
        await AtomicFile.WriteAllBytesAsync(path, bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes mean reward against KL, one labelled point per model, with a dashed horizontal line at
    /// <paramref name="line"/>'s reward (best-of-n of a model), as a PNG (atomically): the DPO paper's reward–KL picture.
    /// </summary>
    public static async Task WriteRewardKlPlotAsync(string path, IReadOnlyList<(string Label, double KL, double Reward)> points, (string Label, double Reward) line)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (label, kl, reward) in points)
        {
            var point = plot.Add.Scatter(new[] { kl }, new[] { reward });
            point.MarkerSize = 9;
            point.LegendText = label;
        }

        var best = plot.Add.HorizontalLine(line.Reward);
        best.LinePattern = ScottPlot.LinePattern.Dashed;
        best.LegendText = line.Label;
        plot.Title("mean reward of one sample against KL(π‖π_ref)");
        plot.XLabel("sequence-level KL to the reference (nats), estimated from the samples");
        plot.YLabel("mean reward");
        plot.ShowLegend();
        var bytes = plot.GetImageBytes(900, 540, ScottPlot.ImageFormat.Png);
        await AtomicFile.WriteAllBytesAsync(path, bytes).ConfigureAwait(false);
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
