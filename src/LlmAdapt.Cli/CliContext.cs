using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmAdapt.Cli;

/// <summary>What every verb shares: the writers, <c>--verbose</c>, <c>--json</c> and the error rule.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error)
{
    /// <summary>Prints stack traces on failure.</summary>
    public static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Print stack traces and extra detail on failure.",
        Recursive = true,
    };

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Gets standard output.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Gets standard error.</summary>
    public TextWriter Error { get; } = error;

    /// <summary>Gets or sets whether <c>--verbose</c> was given.</summary>
    public bool Verbose { get; set; }

    /// <summary>Creates the <c>--json</c> option a verb that reports numbers adds.</summary>
    /// <returns>The option.</returns>
    public static Option<bool> JsonOption() => new("--json") { Description = "End the output with one JSON object on the last line." };

    /// <summary>Writes <paramref name="value"/> as one line of JSON (snake_case names).</summary>
    /// <param name="value">The report.</param>
    public void WriteJson(object value) => Out.WriteLine(JsonSerializer.Serialize(value, value.GetType(), s_json));

    /// <summary>Runs a verb body with the tool's error rule: a one-line error and exit code 1 (2 for bad usage), the stack only with <c>--verbose</c>.</summary>
    /// <param name="body">The verb's work.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await Error.WriteLineAsync("error: cancelled").ConfigureAwait(false);
            return CliApp.Failure;
        }
        catch (CliUsageException ex)
        {
            await Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return CliApp.BadUsage;
        }
#pragma warning disable CA1031 // The tool's contract is one line and exit code 1 for any failure.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await Error.WriteLineAsync($"error: {OneLine(ex)}").ConfigureAwait(false);
            if (Verbose)
            {
                await Error.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
            }

            return CliApp.Failure;
        }
    }

    private static string OneLine(Exception ex)
    {
        var message = ex is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0].Message : ex.Message;
        return message.ReplaceLineEndings(" ");
    }
}
