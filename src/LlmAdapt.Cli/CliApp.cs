using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using LlmAdapt.Cli.Commands;

namespace LlmAdapt.Cli;

/// <summary>Builds the <c>llmadapt</c> command tree and runs it with the exit codes the README documents.</summary>
internal static class CliApp
{
    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;

    /// <summary>Exit code of a run that failed (bad data, missing file, model error).</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a command line that could not be parsed.</summary>
    public const int BadUsage = 2;

    /// <summary>
    /// The tool's name, shown in the usage line and help whatever the executable is called (<c>dotnet run</c>, the
    /// installed .NET tool, a test host): a <see cref="RootCommand"/> would take the executable's file name instead.
    /// </summary>
    public const string ToolName = "llmadapt";

    /// <summary>Runs the tool.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Standard output: results.</param>
    /// <param name="error">Standard error: progress and errors.</param>
    /// <param name="cancellationToken">Ctrl+C.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var context = new CliContext(output, error);
        var root = BuildRoot(context);
        var parseResult = root.Parse(args);
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        // An unknown --option would otherwise be taken as a positional value (for example a file name).
        var unknownOptions = parseResult.Tokens
            .Where(t => t.Type == TokenType.Argument && t.Value.StartsWith("--", StringComparison.Ordinal) && t.Value.Length > 2)
            .Select(t => $"Unrecognized option '{t.Value}'.");
        var errors = parseResult.Errors.Select(e => e.Message).Concat(unknownOptions).ToList();
        if (errors.Count > 0)
        {
            foreach (var message in errors)
            {
                await error.WriteLineAsync($"error: {message}").ConfigureAwait(false);
            }

            await error.WriteLineAsync("Run 'llmadapt --help' (or the verb with --help) for usage.").ConfigureAwait(false);
            return BadUsage;
        }

        context.Verbose = parseResult.GetValue(CliContext.VerboseOption);
        return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds the command tree; each verb group lives in its own file under <c>Commands/</c>.</summary>
    /// <param name="context">Shared output and error handling.</param>
    /// <returns>The root command, named <see cref="ToolName"/>, with --help and --version.</returns>
    public static Command BuildRoot(CliContext context)
    {
        var root = new Command(ToolName, "llmadapt: make a general-purpose LLM work for your organisation (prompting, retrieval, fine-tuning, preferences).")
        {
            new HelpOption(),
            new VersionOption(),
        };
        root.Options.Add(CliContext.VerboseOption);
        root.Subcommands.Add(TokensCommands.Create(context));
        root.Subcommands.Add(EmbedCommands.Create(context));
        root.Subcommands.Add(PromptCommands.Create(context));
        root.Subcommands.Add(GenerateCommands.Create(context));
        root.Subcommands.Add(ExportCommands.Create(context));
        root.Subcommands.Add(ServeCommands.Create(context));
        RetrievalCommands.AddTo(root, context);
        TrainingHeadCommands.AddTo(root, context);
        FineTuningCommands.AddTo(root, context);
        PreferenceTuningCommands.AddTo(root, context);
        return root;
    }
}
