using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Tokens;

/// <summary>
/// Counts and trims tokens exactly as a model's tokenizer does, over Microsoft.ML.Tokenizers.
/// Create one with <see cref="ForModel"/>, <see cref="ForEncoding"/> or <see cref="Create"/>; instances are thread-safe.
/// </summary>
public sealed class TokenCounter
{
    private static readonly ConcurrentDictionary<string, Lazy<Tokenizer>> s_tiktoken = new(StringComparer.OrdinalIgnoreCase);

    private static readonly string[] s_encodings = ["o200k_base", "cl100k_base"];

    private TokenCounter(Tokenizer tokenizer, string name, ChatTokenOverhead overhead)
    {
        Tokenizer = tokenizer;
        Name = name;
        Overhead = overhead;
    }

    /// <summary>The model whose tokenizer counts where none is named: <c>gpt-4o</c> (o200k).</summary>
    public const string DefaultModel = "gpt-4o";

    /// <summary>Gets the underlying tokenizer.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Gets the model or encoding name the counter was created for.</summary>
    public string Name { get; }

    /// <summary>Gets the chat-format overhead added by <see cref="CountTokens(IEnumerable{ChatMessage})"/>.</summary>
    public ChatTokenOverhead Overhead { get; }

    /// <summary>
    /// Creates a counter for an OpenAI-family model name (<c>gpt-4o</c>, <c>gpt-4.1</c>, <c>o3</c> → o200k;
    /// <c>gpt-4</c>, <c>gpt-3.5-turbo</c>, <c>text-embedding-3-small</c> → cl100k; <c>gpt2</c> → GPT-2), or for an encoding name.
    /// Tokenizer data is loaded once per process.
    /// </summary>
    /// <param name="modelName">The model or encoding name.</param>
    /// <param name="overhead">The chat-format overhead; OpenAI's by default.</param>
    /// <returns>The counter.</returns>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the names that work.</exception>
    public static TokenCounter ForModel(string modelName, ChatTokenOverhead? overhead = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        var tokenizer = s_tiktoken.GetOrAdd(modelName, static name => new Lazy<Tokenizer>(() => LoadTiktoken(name))).Value;
        return new TokenCounter(tokenizer, modelName, overhead ?? ChatTokenOverhead.OpenAI);
    }

    /// <summary>
    /// Creates a counter for a model folder's own tokenizer (<c>tokenizer.json</c>, read by <see cref="HuggingFaceTokenizer"/>)
    /// when <paramref name="modelOrFolder"/> names an existing folder, and otherwise as <see cref="ForModel"/> does.
    /// </summary>
    /// <param name="modelOrFolder">A model folder, or a model or encoding name.</param>
    /// <returns>The counter; a folder's has no chat overhead (it depends on the model's chat template).</returns>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the names that work.</exception>
    /// <exception cref="ModelLoadException">The folder has no tokenizer this library can run; the message names the file.</exception>
    public static TokenCounter ForModelOrFolder(string modelOrFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelOrFolder);
        if (!Directory.Exists(modelOrFolder))
        {
            return ForModel(modelOrFolder);
        }

        var folder = Path.GetFullPath(modelOrFolder);
        return Create(HuggingFaceTokenizer.Load(folder).Tokenizer!, folder);
    }

    /// <summary>Returns whether <see cref="ForModel"/> knows a tokenizer for <paramref name="modelName"/>, and the counter when it does.</summary>
    /// <param name="modelName">A model or encoding name.</param>
    /// <param name="counter">The counter, or <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when the name is known.</returns>
    public static bool TryForModel(string modelName, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TokenCounter? counter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        try
        {
            counter = ForModel(modelName);
            return true;
        }
        catch (ArgumentException)
        {
            counter = null;
            return false;
        }
    }

    /// <summary>Creates a counter for a tiktoken encoding: <c>o200k_base</c> or <c>cl100k_base</c> (GPT-2's is <see cref="ForModel"/> with <c>gpt2</c>).</summary>
    /// <param name="encodingName">The encoding name.</param>
    /// <param name="overhead">The chat-format overhead; OpenAI's by default.</param>
    /// <returns>The counter.</returns>
    /// <exception cref="ArgumentException">The encoding is unknown; the message lists the ones that work.</exception>
    public static TokenCounter ForEncoding(string encodingName, ChatTokenOverhead? overhead = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(encodingName);
        if (!s_encodings.Contains(encodingName, StringComparer.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Unknown encoding '{encodingName}'. Known encodings: {string.Join(", ", s_encodings)}.", nameof(encodingName));
        }

        return ForModel(encodingName, overhead);
    }

    /// <summary>Creates a counter over a tokenizer the host supplies (for example a model folder's own tokenizer).</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="name">A name for logs and errors.</param>
    /// <param name="overhead">The chat-format overhead; none by default, since it depends on the model's chat template.</param>
    /// <returns>The counter.</returns>
    public static TokenCounter Create(Tokenizer tokenizer, string name, ChatTokenOverhead? overhead = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new TokenCounter(tokenizer, name, overhead ?? ChatTokenOverhead.None);
    }

    /// <summary>Counts the tokens of <paramref name="text"/>, with no special-token or chat overhead.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The number of tokens.</returns>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length == 0 ? 0 : Tokenizer.CountTokens(text);
    }

    /// <summary>Counts the tokens of <paramref name="text"/>, with no special-token or chat overhead.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The number of tokens.</returns>
    public int CountTokens(ReadOnlySpan<char> text) => text.IsEmpty ? 0 : Tokenizer.CountTokens(text);

    /// <summary>
    /// Counts the tokens a list of chat messages costs: for every message its role, text and name plus
    /// <see cref="ChatTokenOverhead.PerMessage"/> (and <see cref="ChatTokenOverhead.PerName"/> when named), then
    /// <see cref="ChatTokenOverhead.ReplyPriming"/> once. Only text content is counted.
    /// </summary>
    /// <param name="messages">The messages.</param>
    /// <returns>The number of tokens.</returns>
    public int CountTokens(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var total = 0;
        var any = false;
        foreach (var message in messages)
        {
            any = true;
            total += CountTokens(message, includeReplyPriming: false);
        }

        return any ? total + Overhead.ReplyPriming : 0;
    }

    /// <summary>Counts the tokens of one message: its role, text, name and the per-message overhead.</summary>
    /// <param name="message">The message.</param>
    /// <param name="includeReplyPriming">Whether to add the reply priming, as when it is the whole prompt.</param>
    /// <returns>The number of tokens.</returns>
    public int CountTokens(ChatMessage message, bool includeReplyPriming = false)
    {
        ArgumentNullException.ThrowIfNull(message);
        var count = Overhead.PerMessage + CountTokens(message.Role.Value) + CountTokens(message.Text);
        if (!string.IsNullOrEmpty(message.AuthorName))
        {
            count += Overhead.PerName + CountTokens(message.AuthorName);
        }

        return includeReplyPriming ? count + Overhead.ReplyPriming : count;
    }

    /// <summary>
    /// Returns the longest part of <paramref name="text"/>, from the kept side, that is at most
    /// <paramref name="maxTokens"/> tokens. The cut falls on a token boundary and never inside a character
    /// (a surrogate pair stays whole); the returned text, counted again, never exceeds the limit.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="maxTokens">The most tokens to keep; 0 returns the empty string.</param>
    /// <param name="side">Which end to cut; by default the end.</param>
    /// <returns>The trimmed text, or <paramref name="text"/> itself when it fits.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxTokens"/> is negative.</exception>
    public string TrimToTokens(string text, int maxTokens, TrimSide side = TrimSide.End)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        if (maxTokens == 0 || text.Length == 0)
        {
            return string.Empty;
        }

        if (CountTokens(text) <= maxTokens)
        {
            return text;
        }

        // A prefix re-encoded can merge differently from the prefix of the encoding, so the cut is checked by
        // counting again and moved one token inwards until it holds.
        for (var limit = maxTokens; limit > 0; limit--)
        {
            var candidate = Cut(text, limit, side);
            if (CountTokens(candidate) <= maxTokens)
            {
                return candidate;
            }
        }

        return string.Empty;
    }

    private string Cut(string text, int limit, TrimSide side)
    {
        if (side == TrimSide.End)
        {
            var index = Tokenizer.GetIndexByTokenCount(text, limit, out _, out _, considerPreTokenization: true, considerNormalization: false);
            index = Math.Clamp(index, 0, text.Length);
            if (index > 0 && index < text.Length && char.IsHighSurrogate(text[index - 1]) && char.IsLowSurrogate(text[index]))
            {
                index--;
            }

            return text[..index];
        }

        var start = Tokenizer.GetIndexByTokenCountFromEnd(text, limit, out _, out _, considerPreTokenization: true, considerNormalization: false);
        start = Math.Clamp(start, 0, text.Length);
        if (start > 0 && start < text.Length && char.IsHighSurrogate(text[start - 1]) && char.IsLowSurrogate(text[start]))
        {
            start++;
        }

        return text[start..];
    }

    private static Tokenizer LoadTiktoken(string name)
    {
        try
        {
            return s_encodings.Contains(name, StringComparer.OrdinalIgnoreCase)
                ? TiktokenTokenizer.CreateForEncoding(name)
                : TiktokenTokenizer.CreateForModel(name);
        }
        catch (Exception ex) when (ex is NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new ArgumentException(
                $"No tokenizer is known for model '{name}'. Use an OpenAI model name (gpt-4o, gpt-4o-mini, gpt-4.1, o1, o3, gpt-4, gpt-3.5-turbo, " +
                $"text-embedding-3-small, gpt2), an encoding ({string.Join(", ", s_encodings)}), or TokenCounter.Create with the model's own tokenizer.",
                nameof(name),
                ex);
        }
    }
}
