using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Prompting.Decomposition;

/// <summary>Options of <see cref="LeastToMostPromptStrategy"/>.</summary>
public sealed class LeastToMostPromptOptions
{
    /// <summary>Gets or sets how many levels may be decomposed: 1 breaks only the task; 2 also its sub-questions. From 1 to 4. Default: 1.</summary>
    [Range(1, 4)]
    public int MaxDepth { get; set; } = 1;

    /// <summary>Gets or sets the most sub-questions used from one decomposition (extra ones are dropped); from 1 to 20. Default: 5.</summary>
    [Range(1, 20)]
    public int MaxSubQuestions { get; set; } = 5;

    /// <summary>Gets or sets the most model calls one run may make, repairs included; from 1 to 1,000. Default: 20.</summary>
    [Range(1, 1000)]
    public int MaxModelCalls { get; set; } = 20;

    /// <summary>Gets or sets how many times a decomposition whose JSON cannot be read is sent back for repair; from 0 to 5. Default: 1.</summary>
    [Range(0, 5)]
    public int MaxRepairAttempts { get; set; } = 1;

    /// <summary>
    /// Gets or sets whether the decomposition call asks the endpoint for structured output (a JSON schema of
    /// <c>{"sub_questions": [string]}</c> as its response format). The reply is parsed and repaired the same way
    /// either way; turn it off for endpoints that reject response formats (LlmAdapt's local <c>OnnxChatClient</c> refuses
    /// them with <see cref="NotSupportedException"/> rather than ignore them). Default: <see langword="true"/>.
    /// </summary>
    public bool RequestJsonSchema { get; set; } = true;

    /// <summary>Gets or sets the system message of every call, or <see langword="null"/> for none.</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>Gets or sets the most prompt tokens a call may use when the request gives no limit; <see langword="null"/> for none. Over the limit, the run is refused at that call.</summary>
    [Range(1, 10_000_000)]
    public int? MaxPromptTokens { get; set; }
}
