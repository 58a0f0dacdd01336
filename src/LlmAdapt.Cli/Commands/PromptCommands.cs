using System.ClientModel;
using System.CommandLine;
using LlmAdapt.Prompting;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Prompting.Decomposition;
using LlmAdapt.Prompting.FewShot;
using LlmAdapt.Prompting.Reasoning;
using LlmAdapt.Prompting.SelfConsistency;
using LlmAdapt.Prompting.Templates;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Cli.Commands;

/// <summary>
/// <c>llmadapt prompt …</c>: run a prompt strategy, or optimise an instruction on a labelled dev set, against any
/// OpenAI-compatible endpoint. The API key is read from an environment variable, never from a flag.
/// </summary>
internal static partial class PromptCommands
{
    public const string DefaultApiKeyVariable = "OPENAI_API_KEY";

    private static readonly string[] s_strategies = ["template", "few-shot", "step-by-step", "self-consistency", "least-to-most"];

    public static Command Create(CliContext context) => new("prompt", "Run prompt strategies and optimise instructions against an OpenAI-compatible endpoint.")
    {
        CreateRun(context),
        CreateOptimize(context),
    };

    private static Command CreateRun(CliContext context)
    {
        var endpoint = EndpointOption();
        var model = ModelOption();
        var apiKeyEnv = ApiKeyEnvOption();
        var strategy = new Option<string>("--strategy", "-s") { Description = $"The strategy: {string.Join(", ", s_strategies)}.", DefaultValueFactory = _ => "template" };
        strategy.AcceptOnlyFromAmong(s_strategies);
        var template = new Option<FileInfo?>("--template", "-t") { Description = "A Liquid template file; sections start with lines '### system', '### user', '### assistant'. Required for the template strategy." };
        var task = new Option<string?>("--task") { Description = "The task or question; templates see it as {{ task }}." };
        var vars = new Option<string[]>("--var") { Description = "A template variable as name=value; repeat for more.", AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore };
        var samples = new Option<int>("--samples") { Description = "Self-consistency: how many reasoning paths to sample.", DefaultValueFactory = _ => 5 };
        var temperature = new Option<float>("--temperature") { Description = "Self-consistency: the sampling temperature.", DefaultValueFactory = _ => 0.7f };
        var maxCalls = new Option<int>("--max-calls") { Description = "Least-to-most: the most model calls.", DefaultValueFactory = _ => 20 };
        var examples = new Option<FileInfo?>("--examples") { Description = "Few-shot: the example pool, JSON Lines of {\"input\": ..., \"output\": ...}." };
        var select = new Option<string>("--select") { Description = "Few-shot: how examples are chosen: fixed (the first k), semantic or mmr (local MiniLM embeddings).", DefaultValueFactory = _ => "fixed" };
        select.AcceptOnlyFromAmong("fixed", "semantic", "mmr");
        var k = new Option<int>("--k") { Description = "Few-shot: how many examples to show.", DefaultValueFactory = _ => 4 };
        var instructions = new Option<string?>("--instructions") { Description = "Few-shot: the system message." };
        var maxTokens = new Option<int?>("--max-prompt-tokens") { Description = "Token limit of a call's prompt (counted with --tokenizer): few-shot examples are dropped to fit, and a prompt still longer is refused." };
        var tokenizer = TokenizerOption();
        var json = CliContext.JsonOption();

        var command = new Command("run", "Run a prompt strategy once and print the answer on stdout.")
        {
            endpoint, model, apiKeyEnv, strategy, template, task, vars, samples, temperature, maxCalls, examples, select, k, instructions, maxTokens, tokenizer, json,
        };
        command.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var strategyName = parseResult.GetRequiredValue(strategy);
            var templateFile = parseResult.GetValue(template);
            var inputs = ParseVariables(parseResult.GetValue(vars) ?? []);
            var taskText = parseResult.GetValue(task);
            var promptTemplate = templateFile is null ? null : LoadTemplate(templateFile);
            if (strategyName == "template" && promptTemplate is null)
            {
                throw new CliUsageException("The template strategy needs --template FILE.");
            }

            if (taskText is null && (promptTemplate is null || promptTemplate.Variables.Contains("task")))
            {
                throw new CliUsageException(promptTemplate is null ? $"The {strategyName} strategy needs --task TEXT (or a --template)." : $"The template {templateFile!.FullName} uses {{{{ task }}}}: give --task TEXT.");
            }

            if (strategyName == "few-shot" && parseResult.GetValue(examples) is null)
            {
                throw new CliUsageException("The few-shot strategy needs --examples FILE.jsonl.");
            }

            if (parseResult.GetValue(k) < 1)
            {
                throw new CliUsageException($"--k must be at least 1, not {parseResult.GetValue(k)}.");
            }

            var counter = TokenCounter.ForModel(parseResult.GetRequiredValue(tokenizer));
            var limit = parseResult.GetValue(maxTokens);
            using var embeddings = strategyName == "few-shot" && parseResult.GetValue(select) != "fixed" ? OnnxEmbeddingGenerator.CreateDefault() : null;
            IPromptStrategy prompt = strategyName switch
            {
                "few-shot" => new FewShotPromptStrategy("cli", new FewShotPromptOptions
                {
                    Selector = await CreateSelectorAsync(parseResult.GetValue(examples)!, parseResult.GetRequiredValue(select), parseResult.GetValue(k), embeddings, cancellationToken).ConfigureAwait(false),
                    Instructions = parseResult.GetValue(instructions),
                    MaxPromptTokens = limit,
                }, counter),
                "template" => new TemplatePromptStrategy("cli", new TemplatePromptOptions { Template = promptTemplate, MaxPromptTokens = limit }, counter),
                "step-by-step" => new StepByStepPromptStrategy("cli", new StepByStepPromptOptions { Template = promptTemplate, MaxPromptTokens = limit }, counter),
                "self-consistency" => new SelfConsistencyPromptStrategy("cli", new SelfConsistencyPromptOptions
                {
                    Template = promptTemplate,
                    Samples = parseResult.GetValue(samples),
                    Temperature = parseResult.GetValue(temperature),
                    MaxPromptTokens = limit,
                }, counter),
                _ => new LeastToMostPromptStrategy("cli", new LeastToMostPromptOptions { MaxModelCalls = parseResult.GetValue(maxCalls), MaxPromptTokens = limit }, counter),
            };

            using var client = CreateClient(parseResult.GetValue(endpoint)!, parseResult.GetRequiredValue(model), parseResult.GetRequiredValue(apiKeyEnv));
            await context.Error.WriteLineAsync($"prompt run: {strategyName} against {parseResult.GetRequiredValue(model)} at {parseResult.GetValue(endpoint)}").ConfigureAwait(false);
            var result = await prompt.ExecuteAsync(client, new PromptRequest { Task = taskText ?? string.Empty, Inputs = inputs }, cancellationToken).ConfigureAwait(false);
            await context.Error.WriteLineAsync($"prompt run: {result.ModelCalls} model call{(result.ModelCalls == 1 ? string.Empty : "s")}").ConfigureAwait(false);

            await context.Out.WriteLineAsync(result.Text).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                var votes = result.AdditionalProperties?.TryGetValue(SelfConsistencyPromptStrategy.VotesKey, out var v) == true ? v as SelfConsistencyVotes : null;
                context.WriteJson(new
                {
                    strategy = strategyName,
                    text = result.Text,
                    model_calls = result.ModelCalls,
                    input_tokens = result.Usage?.InputTokenCount,
                    output_tokens = result.Usage?.OutputTokenCount,
                    agreement = votes?.Agreement,
                    votes = votes?.Counts.ToDictionary(kv => kv.Key, kv => kv.Value),
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static Option<Uri> EndpointOption() => new("--endpoint")
    {
        Description = "The OpenAI-compatible base URL, e.g. https://api.openai.com/v1 or http://localhost:11434/v1.",
        Required = true,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                return uri;
            }

            r.AddError($"--endpoint '{text}' is not an absolute http(s) URL.");
            return null;
        },
    };

    private static Option<string> ModelOption() => new("--model", "-m") { Description = "The model name the endpoint serves.", Required = true };

    private static Option<string> ApiKeyEnvOption() => new("--api-key-env")
    {
        Description = $"The environment variable that holds the API key (default {DefaultApiKeyVariable}); the key itself is never a flag.",
        DefaultValueFactory = _ => DefaultApiKeyVariable,
    };

    private static Option<string> TokenizerOption() => new("--tokenizer") { Description = "The tokenizer that counts prompt tokens (gpt-4o, gpt-4, gpt2, o200k_base, cl100k_base).", DefaultValueFactory = _ => "gpt-4o" };

    internal static IChatClient CreateClient(Uri endpoint, string model, string apiKeyVariable)
    {
        var key = Environment.GetEnvironmentVariable(apiKeyVariable);
        if (string.IsNullOrEmpty(key))
        {
            throw new CliUsageException($"The environment variable {apiKeyVariable} holds no API key. Set it (any value for an endpoint without keys); keys are never taken from flags.");
        }

        var options = new OpenAI.OpenAIClientOptions { Endpoint = endpoint };
        return new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(key), options).AsIChatClient();
    }

    internal static Dictionary<string, object?> ParseVariables(IEnumerable<string> pairs)
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CliUsageException($"--var '{pair}' is not name=value.");
            }

            var name = pair[..equals].Trim();
            if (name == "task")
            {
                throw new CliUsageException("--var task=... is not allowed: give the task with --task.");
            }

            if (!variables.TryAdd(name, pair[(equals + 1)..]))
            {
                throw new CliUsageException($"--var {name} is given twice.");
            }
        }

        return variables;
    }

    private static async Task<IExampleSelector> CreateSelectorAsync(FileInfo file, string how, int k, OnnxEmbeddingGenerator? embeddings, CancellationToken cancellationToken)
    {
        var pool = await PromptExampleFile.ReadAsync(file.FullName, cancellationToken).ConfigureAwait(false);
        return how switch
        {
            "semantic" => new SemanticSimilarityExampleSelector(pool, embeddings!, Math.Min(k, pool.Count)),
            "mmr" => new MaxMarginalRelevanceExampleSelector(pool, embeddings!, Math.Min(k, pool.Count)),
            _ => new FixedExampleSelector(pool.Take(k)),
        };
    }

    private static PromptTemplate LoadTemplate(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new FileNotFoundException($"{file.FullName}: no such template file.", file.FullName);
        }

        return PromptTemplate.Load(file.FullName);
    }
}
