using System.CommandLine;
using LlmAdapt.Tokens;

namespace LlmAdapt.Cli.Commands;

/// <summary><c>llmadapt tokens …</c>: count tokens as a model's tokenizer does.</summary>
internal static class TokensCommands
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model", "-m") { Description = "Model or encoding whose tokenizer counts (gpt-4o, gpt-4, gpt2, o200k_base, cl100k_base).", DefaultValueFactory = _ => "gpt-4o" };
        var files = new Argument<FileInfo[]>("FILE") { Description = "Text files to count.", Arity = ArgumentArity.OneOrMore };
        var json = CliContext.JsonOption();

        var count = new Command("count", "Print the number of tokens in each file and the total.") { model, files, json };
        count.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var counter = TokenCounter.ForModel(parseResult.GetRequiredValue(model));
            var results = new List<object>();
            var total = 0L;
            var chars = 0L;
            foreach (var file in parseResult.GetRequiredValue(files))
            {
                if (!file.Exists)
                {
                    throw new FileNotFoundException($"{file.FullName}: no such file.", file.FullName);
                }

                var text = await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false);
                var tokens = counter.CountTokens(text);
                total += tokens;
                chars += text.Length;
                results.Add(new { file = file.FullName, tokens, characters = text.Length });
                await context.Out.WriteLineAsync($"{tokens,10}  {file.FullName}").ConfigureAwait(false);
            }

            await context.Out.WriteLineAsync($"{total,10}  total ({counter.Name})").ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                context.WriteJson(new { model = counter.Name, total_tokens = total, total_characters = chars, files = results });
            }

            return CliApp.Success;
        }));

        return new Command("tokens", "Count tokens with a model's tokenizer.") { count };
    }
}
