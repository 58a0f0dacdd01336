using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Preference.Feedback;

/// <summary>Options of <see cref="JsonLinesFeedbackStore"/> (configuration section <c>LlmAdapt:Feedback</c>).</summary>
public sealed class JsonLinesFeedbackStoreOptions
{
    /// <summary>Gets or sets the JSON Lines file records are appended to; its folder is created on the first append. Required.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Path { get; set; } = string.Empty;

    /// <summary>
    /// Gets or sets whether each append waits until the line is on disk (fsync). Default: <see langword="true"/>, so a
    /// record the host was told is stored survives a power cut; turn off only where losing the last records is acceptable.
    /// </summary>
    public bool FlushToDisk { get; set; } = true;

    /// <summary>
    /// Gets or sets a hook that rewrites each record before it is written, for removing personal data (names, e-mail
    /// addresses, account numbers) from prompts, responses and metadata. The store keeps exactly what the hook returns;
    /// without a hook it keeps what the host gives it. Default: <see langword="null"/>.
    /// </summary>
    public Func<FeedbackRecord, FeedbackRecord>? Redact { get; set; }
}
