using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Hosting;

/// <summary>Checks at start-up what needs the container, beside <see cref="OptionsValidator"/>'s attribute checks: names and keys are given, and each model name has its keyed service.</summary>
internal sealed class OpenAIServerOptionsValidator(IServiceProviderIsKeyedService services) : IValidateOptions<OpenAIServerOptions>
{
    private const string Prefix = "LlmAdapt:" + OpenAIServerOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, OpenAIServerOptions options)
    {
        var problems = new List<string>();
        if (options.ChatModels.Count == 0 && options.EmbeddingModels.Count == 0)
        {
            problems.Add($"{Prefix}{nameof(options.ChatModels)} and {Prefix}{nameof(options.EmbeddingModels)} are both empty: name at least one model to serve.");
        }

        Check(options.ChatModels, nameof(options.ChatModels), typeof(IChatClient), "AddKeyedChatClient", problems);
        Check(options.EmbeddingModels, nameof(options.EmbeddingModels), typeof(IEmbeddingGenerator<string, Embedding<float>>), "AddKeyedEmbeddingGenerator", problems);
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.ApiKeys[i]))
            {
                problems.Add($"{Prefix}{nameof(options.ApiKeys)}[{i}] is empty; leave the list empty to serve without keys.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private void Check(IList<string> names, string option, Type service, string how, List<string> problems)
    {
        for (var i = 0; i < names.Count; i++)
        {
            var model = names[i];
            if (string.IsNullOrWhiteSpace(model))
            {
                problems.Add($"{Prefix}{option}[{i}] is empty.");
            }
            else if (names.Take(i).Contains(model, StringComparer.Ordinal))
            {
                problems.Add($"{Prefix}{option}[{i}] '{model}' is listed twice.");
            }
            else if (!services.IsKeyedService(service, model))
            {
                problems.Add($"{Prefix}{option}[{i}] '{model}' has no {service.Name} registered with that key ({how}).");
            }
        }
    }
}
