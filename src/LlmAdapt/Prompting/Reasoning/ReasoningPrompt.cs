using LlmAdapt.Prompting.Internal;
using LlmAdapt.Prompting.Templates;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.Reasoning;

/// <summary>Builds the messages of a reasoning call: [system], then the task with the answer instruction and the cue appended.</summary>
internal static class ReasoningPrompt
{
    /// <summary>
    /// Checks a run's arguments, builds the messages and fits them to the budget; a reasoning prompt over its limit is
    /// refused, never cut.
    /// </summary>
    public static IReadOnlyList<ChatMessage> BuildFitted(StrategyCore core, IChatClient chatClient, PromptRequest request, ReasoningPromptOptions options)
    {
        StrategyCore.CheckArguments(chatClient, request);
        var messages = Build(request, options.SystemPrompt, options.Template, options.AnswerInstruction, options.Cue);
        return core.Fit(messages, request, options.MaxPromptTokens, TokenBudgetOverflow.Throw);
    }

    public static List<ChatMessage> Build(PromptRequest request, string? systemPrompt, PromptTemplate? template, string? answerInstruction, string cue)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(systemPrompt))
        {
            messages.Add(new ChatMessage(ChatRole.System, systemPrompt));
        }

        if (template is null)
        {
            ArgumentNullException.ThrowIfNull(request.Task, nameof(request));
            messages.Add(new ChatMessage(ChatRole.User, request.Task));
        }
        else
        {
            messages.AddRange(template.Render(TemplateVariables.From(request)));
        }

        var last = messages.FindLastIndex(m => m.Role == ChatRole.User);
        if (last < 0)
        {
            messages.Add(new ChatMessage(ChatRole.User, string.Empty));
            last = messages.Count - 1;
        }

        var text = messages[last].Text;
        if (!string.IsNullOrWhiteSpace(answerInstruction))
        {
            text = Join(text, answerInstruction);
        }

        messages[last] = new ChatMessage(ChatRole.User, Join(text, cue));
        return messages;
    }

    private static string Join(string head, string tail) => head.Length == 0 ? tail : $"{head.TrimEnd()}\n\n{tail}";
}
