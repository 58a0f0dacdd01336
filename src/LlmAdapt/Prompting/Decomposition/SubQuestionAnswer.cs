namespace LlmAdapt.Prompting.Decomposition;

/// <summary>A sub-question of a least-to-most run, its answer, and its own sub-questions when it was decomposed too.</summary>
/// <param name="Question">The sub-question, as the model wrote it.</param>
/// <param name="Answer">The answer the model gave.</param>
public sealed record SubQuestionAnswer(string Question, string Answer)
{
    /// <summary>Gets the sub-questions this one was broken into; empty when it was answered directly.</summary>
    public IReadOnlyList<SubQuestionAnswer> SubQuestions { get; init; } = [];
}
