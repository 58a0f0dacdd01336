using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Onnx.Generation;

/// <summary>Settings of <see cref="OnnxChatClient"/> and of the model <c>AddOnnxChatClient</c> loads for it.</summary>
public sealed class OnnxChatClientOptions
{
    /// <summary>The configuration section <c>AddOnnxChatClient</c> binds, under <c>LlmAdapt</c>.</summary>
    public const string SectionName = "OnnxChatClient";

    /// <summary>Gets or sets the model folder <c>AddOnnxChatClient</c> loads (unused when a model is passed to the constructor).</summary>
    public string? ModelPath { get; set; }

    /// <summary>Gets or sets the chat template. Default: <see cref="ChatTemplate.ChatML"/>.</summary>
    [EnumDataType(typeof(ChatTemplate))]
    public ChatTemplate Template { get; set; } = ChatTemplate.ChatML;

    /// <summary>Gets or sets a formatter that replaces <see cref="Template"/>: it writes the whole prompt, the assistant's opening included.</summary>
    public Func<IReadOnlyList<ChatMessage>, string>? Formatter { get; set; }

    /// <summary>Gets or sets the text that ends the assistant's turn with a custom <see cref="Formatter"/> (a special token or a plain string), or <see langword="null"/>.</summary>
    public string? EndOfTurn { get; set; }

    /// <summary>Gets or sets the most tokens a response has when <see cref="ChatOptions.MaxOutputTokens"/> is not set; from 1 to 1,000,000. Default: 256.</summary>
    [Range(1, 1_000_000)]
    public int DefaultMaxOutputTokens { get; set; } = 256;

    /// <summary>Gets or sets ONNX Runtime's threads per step; see <see cref="OnnxDecoderModelOptions.IntraOpThreads"/>. From 0 to 1,024.</summary>
    [Range(0, 1024)]
    public int? IntraOpThreads { get; set; }

    /// <summary>Gets or sets the model id reported in responses and metadata; the folder name when <see langword="null"/>.</summary>
    public string? ModelId { get; set; }
}
