using System.CommandLine;
using System.Globalization;
using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Optimization;

namespace LlmAdapt.Cli.Commands;

/// <summary><c>llmadapt prompt optimize</c>: search for a better instruction on a labelled dev set.</summary>
internal static partial class PromptCommands
{
    private static Command CreateOptimize(CliContext context)
    {
        var endpoint = EndpointOption();
        var model = ModelOption();
        var apiKeyEnv = ApiKeyEnvOption();
        var dev = new Option<FileInfo>("--dev") { Description = "The labelled dev set: JSON Lines of {\"input\": ..., \"output\": ...}.", Required = true };
        var description = new Option<string>("--task-description") { Description = "What the instruction should make the model do (shown to the model that writes instructions).", Required = true };
        var seeds = new Option<string[]>("--seed-instruction") { Description = "An instruction to start from; repeat for more. Without one, the model is asked what instruction explains the dev pairs (APE induction).", Arity = ArgumentArity.ZeroOrMore };
        var metric = new Option<string>("--metric") { Description = "How answers are scored: exact, normalized or contains.", DefaultValueFactory = _ => "normalized" };
        metric.AcceptOnlyFromAmong("exact", "normalized", "contains");
        var maxCalls = new Option<int>("--max-calls") { Description = "The most model calls in all.", DefaultValueFactory = _ => 200 };
        var rounds = new Option<int>("--rounds") { Description = "The most proposal rounds.", DefaultValueFactory = _ => 20 };
        var candidates = new Option<int>("--candidates") { Description = "New instructions asked for each round.", DefaultValueFactory = _ => 4 };
        var target = new Option<double>("--target") { Description = "Stop at this dev score (0 to 1).", DefaultValueFactory = _ => 1.0 };
        var patience = new Option<int>("--patience") { Description = "Stop after this many rounds without a better score.", DefaultValueFactory = _ => 3 };
        var seed = new Option<long>("--seed") { Description = "The seed sent with every call, for repeatable runs.", DefaultValueFactory = _ => 0 };
        var json = CliContext.JsonOption();

        var command = new Command("optimize", "Search for a better instruction on a labelled dev set (OPRO/APE style); prints the best on stdout.")
        {
            endpoint, model, apiKeyEnv, dev, description, seeds, metric, maxCalls, rounds, candidates, target, patience, seed, json,
        };
        command.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var devFile = parseResult.GetRequiredValue(dev);
            var devSet = await PromptExampleFile.ReadAsync(devFile.FullName, cancellationToken).ConfigureAwait(false);
            var options = new PromptOptimizerOptions
            {
                TaskDescription = parseResult.GetRequiredValue(description),
                Metric = AnswerMetric.FromName(parseResult.GetRequiredValue(metric)),
                MaxModelCalls = parseResult.GetValue(maxCalls),
                MaxRounds = parseResult.GetValue(rounds),
                CandidatesPerRound = parseResult.GetValue(candidates),
                TargetScore = parseResult.GetValue(target),
                Patience = parseResult.GetValue(patience),
                Seed = parseResult.GetValue(seed),
            };
            foreach (var instruction in parseResult.GetValue(seeds) ?? [])
            {
                options.SeedInstructions.Add(instruction);
            }

            PromptOptimizer optimizer;
            try
            {
                optimizer = new PromptOptimizer(options);
            }
            catch (InvalidOptionsException ex)
            {
                throw new CliUsageException(ex.Message, ex);
            }

            using var client = CreateClient(parseResult.GetValue(endpoint)!, parseResult.GetRequiredValue(model), parseResult.GetRequiredValue(apiKeyEnv));
            await context.Error.WriteLineAsync($"prompt optimize: {devSet.Count} dev examples from {devFile.FullName}, metric {options.Metric.Name}, budget {options.MaxModelCalls} calls").ConfigureAwait(false);
            var progress = new LineProgress(context.Error);
            var result = await optimizer.OptimizeAsync(client, devSet, progress, cancellationToken).ConfigureAwait(false);
            await context.Error.WriteLineAsync($"prompt optimize: stopped ({result.StopReason}) after {result.Rounds} rounds and {result.ModelCalls} calls; best score {result.BestScore.ToString("F3", CultureInfo.InvariantCulture)}").ConfigureAwait(false);

            await context.Out.WriteLineAsync(result.BestInstruction).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                context.WriteJson(new
                {
                    best_instruction = result.BestInstruction,
                    best_score = result.BestScore,
                    model_calls = result.ModelCalls,
                    rounds = result.Rounds,
                    stop_reason = result.StopReason.ToString(),
                    history = result.History.Select(h => new { instruction = h.Instruction, score = h.Score, round = h.Round }),
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private sealed class LineProgress(TextWriter error) : IProgress<PromptOptimizationProgress>
    {
        public void Report(PromptOptimizationProgress value)
        {
            var instruction = value.Latest.Instruction.ReplaceLineEndings(" ");
            if (instruction.Length > 70)
            {
                instruction = string.Concat(instruction.AsSpan(0, 67), "...");
            }

            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {value.Round,2}  score {value.Latest.Score:F3}  best {value.Best.Score:F3}  calls {value.ModelCalls}/{value.MaxModelCalls}  {instruction}"));
        }
    }
}
