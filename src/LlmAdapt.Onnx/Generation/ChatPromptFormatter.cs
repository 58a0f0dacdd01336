using System.Text;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Onnx.Generation;

/// <summary>Writes conversations in the named templates and says which marker ends the assistant's turn.</summary>
internal static class ChatPromptFormatter
{
    public static string Format(ChatTemplate template, IReadOnlyList<ChatMessage> messages)
    {
        var builder = new StringBuilder();
        switch (template)
        {
            case ChatTemplate.ChatML:
                foreach (var m in messages)
                {
                    builder.Append("<|im_start|>").Append(Role(m)).Append('\n').Append(m.Text).Append("<|im_end|>\n");
                }

                builder.Append("<|im_start|>assistant\n");
                break;
            case ChatTemplate.Llama3:
                builder.Append("<|begin_of_text|>");
                foreach (var m in messages)
                {
                    builder.Append("<|start_header_id|>").Append(Role(m)).Append("<|end_header_id|>\n\n").Append(m.Text.Trim()).Append("<|eot_id|>");
                }

                builder.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                break;
            case ChatTemplate.Phi3:
                foreach (var m in messages)
                {
                    builder.Append("<|").Append(Role(m)).Append("|>\n").Append(m.Text).Append("<|end|>\n");
                }

                builder.Append("<|assistant|>\n");
                break;
            case ChatTemplate.Zephyr:
                foreach (var m in messages)
                {
                    builder.Append("<|").Append(Role(m)).Append("|>\n").Append(m.Text).Append("</s>\n");
                }

                builder.Append("<|assistant|>\n");
                break;
            case ChatTemplate.Plain:
                foreach (var m in messages)
                {
                    var role = Role(m);
                    builder.Append(char.ToUpperInvariant(role[0])).Append(role.AsSpan(1)).Append(": ").Append(m.Text).Append("\n\n");
                }

                builder.Append("Assistant:");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(template), template, $"Unknown chat template {template}; known: {string.Join(", ", Enum.GetNames<ChatTemplate>())}.");
        }

        return builder.ToString();
    }

    /// <summary>The text that ends the assistant's turn in <paramref name="template"/>.</summary>
    public static string EndOfTurn(ChatTemplate template) => template switch
    {
        ChatTemplate.ChatML => "<|im_end|>",
        ChatTemplate.Llama3 => "<|eot_id|>",
        ChatTemplate.Phi3 => "<|end|>",
        ChatTemplate.Zephyr => "</s>",
        ChatTemplate.Plain => "\nUser:",
        _ => throw new ArgumentOutOfRangeException(nameof(template), template, null),
    };

    private static string Role(ChatMessage message) => message.Role.Value.ToLowerInvariant();
}
