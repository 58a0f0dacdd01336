using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Retrieval.Packing;

/// <summary>Settings of a <see cref="RetrievalAugmentedPromptStrategy"/>.</summary>
public sealed class RetrievalAugmentedOptions
{
    /// <summary>Gets or sets how many chunks to retrieve before packing; 8 by default.</summary>
    [Range(1, 1000)]
    public int TopK { get; set; } = 8;

    /// <summary>Gets or sets the most tokens the packed passages may use; 2,000 by default (lowered to fit the request's prompt limit).</summary>
    [Range(1, 1_000_000)]
    public int MaxContextTokens { get; set; } = 2000;

    /// <summary>Gets or sets the system prompt's opening; the fence rules and the citation rule are appended to it.</summary>
    [Required]
    public string SystemPrompt { get; set; } =
        "You answer questions using only the numbered passages provided. If they do not contain the answer, say that you do not know.";
}
