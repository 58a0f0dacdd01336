using System.Globalization;
using System.Text;
using LlmAdapt.Prompting.Internal;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace LlmAdapt.Prompting.Decomposition;

/// <summary>
/// Least-to-most prompting (Zhou et al., 2022). The model first lists sub-questions as JSON; a reply whose JSON
/// cannot be read is sent back with the problem for repair, up to <c>MaxRepairAttempts</c> times, and if it still
/// cannot be read the question is answered directly. The sub-questions are then answered in order, each with the
/// earlier answers in context (and decomposed again while the depth allows), and a final call combines the answers.
/// <para>
/// Bounds: at most <c>MaxSubQuestions</c> per decomposition and <c>MaxModelCalls</c> in all. The call budget is
/// planned ahead: a question is decomposed only when at least three calls remain for it, sub-questions are dropped
/// when there are not calls enough to answer them and combine, and so a run never exceeds the budget and always ends
/// with an answer.
/// </para>
/// </summary>
public sealed class LeastToMostPromptStrategy : IPromptStrategy
{
    /// <summary>The key in <see cref="PromptResult.AdditionalProperties"/> of the answered sub-questions (<c>IReadOnlyList&lt;SubQuestionAnswer&gt;</c>).</summary>
    public const string SubQuestionsKey = "sub_questions";

    /// <summary>The key in <see cref="PromptResult.AdditionalProperties"/> of how many decompositions stayed unreadable after repair (<see cref="int"/>).</summary>
    public const string UnreadableDecompositionsKey = "unreadable_decompositions";

    private readonly LeastToMostPromptOptions _options;
    private readonly StrategyCore _core;

    /// <summary>Initializes the strategy.</summary>
    /// <param name="name">The name it is registered under.</param>
    /// <param name="options">The options; validated here.</param>
    /// <param name="tokenCounter">Counts prompt tokens for the budget.</param>
    /// <param name="logger">Logs call counts; message content only at Trace.</param>
    /// <exception cref="InvalidOptionsException">The options are invalid; every problem is listed.</exception>
    public LeastToMostPromptStrategy(string name, LeastToMostPromptOptions options, TokenCounter tokenCounter, ILogger? logger = null)
    {
        _core = new StrategyCore(name, options, tokenCounter, logger);
        _options = options;
    }

    /// <inheritdoc />
    public string Name => _core.Name;

    /// <summary>The text of the decomposition request; <c>{0}</c> is the most sub-questions, <c>{1}</c> the problem.</summary>
    internal const string DecomposeFormat =
        "Break the problem below into simpler sub-questions whose answers, taken in order, lead to its solution. " +
        "List at most {0}, simplest first. Reply with JSON only, in the form {{\"sub_questions\": [\"...\", \"...\"]}}. " +
        "If the problem is simple enough to answer directly, reply {{\"sub_questions\": []}}.\n\nProblem: {1}";

    private static readonly ChatResponseFormat s_schema = ChatResponseFormat.ForJsonSchema(
        System.Text.Json.JsonDocument.Parse("""{"type":"object","properties":{"sub_questions":{"type":"array","items":{"type":"string"}}},"required":["sub_questions"],"additionalProperties":false}""").RootElement.Clone(),
        "sub_questions",
        "The sub-questions to answer first, simplest first.");

    /// <summary>The text of the repair request; <c>{0}</c> is what was wrong.</summary>
    internal const string RepairFormat = "Your reply could not be read: {0}. Reply again with JSON only, in the form {{\"sub_questions\": [\"...\", \"...\"]}}.";

    /// <inheritdoc />
    public async Task<PromptResult> ExecuteAsync(IChatClient chatClient, PromptRequest request, CancellationToken cancellationToken = default)
    {
        var task = StrategyCore.RequireTask(chatClient, request);
        using var ledger = _core.Ledger(chatClient, _options.MaxModelCalls);
        var run = new Run(this, ledger, request, cancellationToken);
        var (answer, subs) = await run.SolveAsync(task, [], depth: 1, budget: _options.MaxModelCalls).ConfigureAwait(false);
        return run.Ledger.Result(answer, run.LastMessages, run.LastResponse, new()
        {
            [SubQuestionsKey] = subs,
            [UnreadableDecompositionsKey] = run.Unreadable,
        });
    }

    private sealed class Run(LeastToMostPromptStrategy owner, ModelCallLedger ledger, PromptRequest request, CancellationToken cancellationToken)
    {
        public ModelCallLedger Ledger { get; } = ledger;

        public IReadOnlyList<ChatMessage> LastMessages { get; private set; } = [];

        public ChatResponse? LastResponse { get; private set; }

        public int Unreadable { get; private set; }

        private LeastToMostPromptOptions Options => owner._options;

        public async Task<(string Answer, IReadOnlyList<SubQuestionAnswer> Subs)> SolveAsync(string question, IReadOnlyList<SubQuestionAnswer> context, int depth, int budget)
        {
            // Decomposing needs a call to list, at least one to answer and one to combine.
            if (depth <= Options.MaxDepth && budget >= 3)
            {
                var (questions, used) = await DecomposeAsync(question, context, allowance: budget - 2).ConfigureAwait(false);
                var remaining = budget - used;
                var count = Math.Min(Math.Min(questions.Count, Options.MaxSubQuestions), remaining - 1);
                if (count > 0)
                {
                    var answered = new List<SubQuestionAnswer>(count);
                    for (var i = 0; i < count; i++)
                    {
                        // Keep one call for each later sibling and one for the combination.
                        var reserve = count - i;
                        var before = Ledger.Calls;
                        var (answer, subs) = await SolveAsync(questions[i], [.. context, .. answered], depth + 1, remaining - reserve).ConfigureAwait(false);
                        remaining -= Ledger.Calls - before;
                        answered.Add(new SubQuestionAnswer(questions[i], answer) { SubQuestions = subs });
                    }

                    var combined = await AskAsync(CombinePrompt(question, depth == 1 ? null : context, answered)).ConfigureAwait(false);
                    return (combined, answered);
                }
            }

            var direct = await AskAsync(depth == 1 && context.Count == 0 ? question : AnswerPrompt(question, context)).ConfigureAwait(false);
            return (direct, []);
        }

        private async Task<(List<string> Questions, int Calls)> DecomposeAsync(string question, IReadOnlyList<SubQuestionAnswer> context, int allowance)
        {
            var messages = Messages(string.Format(CultureInfo.InvariantCulture, DecomposeFormat, Options.MaxSubQuestions, WithContext(question, context)));
            var calls = 0;
            ChatOptions? options = request.ChatOptions;
            if (Options.RequestJsonSchema)
            {
                options = request.ChatOptions?.Clone() ?? new ChatOptions();
                options.ResponseFormat = s_schema;
            }

            for (var attempt = 0; ; attempt++)
            {
                var reply = await CallAsync(messages, options).ConfigureAwait(false);
                calls++;
                if (SubQuestionParser.TryParse(reply, out var questions, out var problem))
                {
                    return (questions, calls);
                }

                if (attempt >= Options.MaxRepairAttempts || calls >= allowance)
                {
                    Unreadable++;
                    return ([], calls);
                }

                messages = [.. messages, new ChatMessage(ChatRole.Assistant, reply), new ChatMessage(ChatRole.User, string.Format(CultureInfo.InvariantCulture, RepairFormat, problem))];
            }
        }

        private Task<string> AskAsync(string userText) => CallAsync(Messages(userText), request.ChatOptions);

        private async Task<string> CallAsync(List<ChatMessage> messages, ChatOptions? options)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fitted = owner._core.Fit(messages, request, Options.MaxPromptTokens, TokenBudgetOverflow.Throw);
            var response = await Ledger.CallAsync(fitted, options, cancellationToken).ConfigureAwait(false);
            LastMessages = fitted;
            LastResponse = response;
            return response.Text ?? string.Empty;
        }

        private List<ChatMessage> Messages(string userText)
        {
            var messages = new List<ChatMessage>(2);
            if (!string.IsNullOrEmpty(Options.SystemPrompt))
            {
                messages.Add(new ChatMessage(ChatRole.System, Options.SystemPrompt));
            }

            messages.Add(new ChatMessage(ChatRole.User, userText));
            return messages;
        }

        private string AnswerPrompt(string question, IReadOnlyList<SubQuestionAnswer> context)
            => $"{Known(context)}Answer this question concisely: {question}";

        private string CombinePrompt(string question, IReadOnlyList<SubQuestionAnswer>? context, IReadOnlyList<SubQuestionAnswer> answered)
        {
            // The task's own combination needs no reminder of the overall problem: it is the problem.
            var text = new StringBuilder();
            if (context is not null)
            {
                text.Append(Known(context));
            }

            text.Append("Problem: ").Append(question).Append("\n\nIts sub-questions and their answers:\n");
            AppendPairs(text, answered);
            text.Append("\nUsing these answers, solve the problem and give the final answer.");
            return text.ToString();
        }

        private string WithContext(string question, IReadOnlyList<SubQuestionAnswer> context)
            => context.Count == 0 ? question : $"{question}\n\n{Known(context).TrimEnd()}";

        private string Known(IReadOnlyList<SubQuestionAnswer> context)
        {
            var text = new StringBuilder();
            text.Append("Overall problem: ").Append(request.Task).Append("\n\n");
            if (context.Count > 0)
            {
                text.Append("Answered so far:\n");
                AppendPairs(text, context);
                text.Append('\n');
            }

            return text.ToString();
        }

        private static void AppendPairs(StringBuilder text, IReadOnlyList<SubQuestionAnswer> pairs)
        {
            foreach (var pair in pairs)
            {
                text.Append("Q: ").Append(pair.Question).Append('\n').Append("A: ").Append(pair.Answer.Trim()).Append('\n');
            }
        }
    }
}
