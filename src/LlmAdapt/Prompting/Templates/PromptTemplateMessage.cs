using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.Templates;

/// <summary>One message of a <see cref="PromptTemplate"/>: a role and the Liquid source of its text.</summary>
/// <param name="Role">The chat role (system, user or assistant).</param>
/// <param name="Source">The Liquid template of the message text.</param>
public sealed record PromptTemplateMessage(ChatRole Role, string Source);
