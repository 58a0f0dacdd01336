using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Hosting;

/// <summary>
/// Settings of the OpenAI-compatible endpoints mapped by <c>MapLlmAdaptOpenAI</c>: which keyed
/// <see cref="Microsoft.Extensions.AI.IChatClient"/>s and embedding generators are served under which model names,
/// API keys, and the caps that protect the server. Validated at start-up.
/// </summary>
public sealed class OpenAIServerOptions
{
    /// <summary>The configuration section the options bind from, under <c>LlmAdapt</c>.</summary>
    public const string SectionName = "OpenAIServer";

    /// <summary>Gets the model names served by <c>/v1/chat/completions</c>; each is the key of an <c>IChatClient</c> in DI (<c>AddKeyedChatClient</c>).</summary>
    public IList<string> ChatModels { get; } = [];

    /// <summary>Gets the model names served by <c>/v1/embeddings</c>; each is the key of an <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c> in DI.</summary>
    public IList<string> EmbeddingModels { get; } = [];

    /// <summary>
    /// Gets the accepted API keys (sent as <c>Authorization: Bearer …</c>); when empty, requests need no key. Keys are
    /// compared in constant time and never logged.
    /// </summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Gets or sets the largest request body, in bytes; larger requests get 413. From 1 KiB to 1 GiB. Default: 4 MiB.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 4L << 20;

    /// <summary>Gets or sets the most tokens a request may ask for (<c>max_tokens</c> or <c>max_completion_tokens</c>); more gets 400. From 1 to 1,000,000. Default: 4,096.</summary>
    [Range(1, 1_000_000)]
    public int MaxOutputTokens { get; set; } = 4096;

    /// <summary>Gets or sets the most choices (<c>n</c>) one chat request may ask for. From 1 to 128. Default: 8.</summary>
    [Range(1, 128)]
    public int MaxChoices { get; set; } = 8;

    /// <summary>Gets or sets the most texts one embeddings request may carry. From 1 to 100,000. Default: 2,048 (OpenAI's limit).</summary>
    [Range(1, 100_000)]
    public int MaxEmbeddingInputs { get; set; } = 2048;

    /// <summary>Gets or sets how many chat and embedding requests run at once. From 1 to 100,000. Default: 16.</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentRequests { get; set; } = 16;

    /// <summary>Gets or sets how many requests wait for a free slot when all are taken; beyond that the answer is 429. From 0 to 1,000,000. Default: 64.</summary>
    [Range(0, 1_000_000)]
    public int MaxQueuedRequests { get; set; } = 64;

    /// <summary>Gets or sets the <c>Retry-After</c> seconds sent with a 429. From 1 to 3,600. Default: 1.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;
}
