using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Optimization;
using LlmAdapt.Prompting.Reasoning;
using LlmAdapt.Tokens;
using Microsoft.Extensions.Logging;

namespace LlmAdapt.Tests.Prompting;

public sealed class PromptLoggingTests
{
    private const string Secret = "patient 4471 has condition X";

    [Fact]
    public async Task MessageContent_IsLoggedOnlyAtTrace()
    {
        var logger = new ListLogger();
        var strategy = new StepByStepPromptStrategy("cot", new StepByStepPromptOptions(), TokenCounter.ForModel("gpt-4o"), logger);

        await strategy.ExecuteAsync(ScriptedChatClient.Sequence($"About {Secret}.\nAnswer: yes"), new PromptRequest { Task = $"Is it true that {Secret}?" });

        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Trace && e.Text.Contains(Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Entries, e => e.Level > LogLevel.Trace && e.Text.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Optimizer_LogsScoresWithoutInstructionsAboveTrace_AndStopsWhenCancelled()
    {
        var logger = new ListLogger();
        using var cts = new CancellationTokenSource();
        var calls = 0;
        var client = new ScriptedChatClient((messages, _, _) =>
        {
            if (Interlocked.Increment(ref calls) == 5)
            {
                cts.Cancel();
            }

            return messages[0].Text.StartsWith("Your job", StringComparison.Ordinal) ? $"<INS>Mention {Secret}.</INS>" : "no";
        });
        var options = new PromptOptimizerOptions { TaskDescription = "t", SeedInstructions = { $"Consider {Secret}." }, MaxConcurrency = 1 };
        var optimizer = new PromptOptimizer(options, logger);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => optimizer.OptimizeAsync(client, [new("a", "b"), new("c", "d")], cancellationToken: cts.Token));

        Assert.InRange(calls, 5, 6);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Debug);
        Assert.DoesNotContain(logger.Entries, e => e.Level > LogLevel.Trace && e.Text.Contains(Secret, StringComparison.Ordinal));
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Text)> _entries = [];

        public IReadOnlyList<(LogLevel Level, string Text)> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries)
            {
                _entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
