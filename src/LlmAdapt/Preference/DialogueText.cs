using Microsoft.Extensions.AI;

namespace LlmAdapt.Preference;

/// <summary>
/// Converts between chat messages and the plain-text dialogue layout of Anthropic HH-RLHF
/// (<c>"\n\nHuman: …\n\nAssistant: …"</c>), the layout reward models trained on that data expect.
/// </summary>
public static class DialogueText
{
    /// <summary>The marker that opens a user turn.</summary>
    public const string HumanMarker = "\n\nHuman:";

    /// <summary>The marker that opens an assistant turn.</summary>
    public const string AssistantMarker = "\n\nAssistant:";

    /// <summary>The marker that opens a system turn (not in HH-RLHF; used so system prompts survive a round trip).</summary>
    public const string SystemMarker = "\n\nSystem:";

    /// <summary>
    /// Renders <paramref name="messages"/> as dialogue text. With <paramref name="cueAssistant"/>, the text ends with an
    /// open <c>Assistant:</c> turn, the form a prompt takes before a response is appended.
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="cueAssistant">Whether to end with an open assistant turn.</param>
    /// <returns>The dialogue text.</returns>
    public static string Format(IEnumerable<ChatMessage> messages, bool cueAssistant = true)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new System.Text.StringBuilder();
        foreach (var message in messages)
        {
            var marker = message.Role == ChatRole.Assistant ? AssistantMarker
                : message.Role == ChatRole.System ? SystemMarker
                : HumanMarker;
            text.Append(marker).Append(' ').Append(message.Text);
        }

        if (cueAssistant)
        {
            text.Append(AssistantMarker);
        }

        return text.ToString();
    }

    /// <summary>
    /// Returns the prompt text that preference data keeps for a conversation: a lone user message is its own text;
    /// anything else is dialogue text (see <see cref="Format"/>) ending with an open assistant turn.
    /// </summary>
    /// <param name="messages">The conversation a response answers.</param>
    /// <returns>The prompt text.</returns>
    public static string PromptOf(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return messages.Count == 1 && messages[0].Role == ChatRole.User ? messages[0].Text : Format(messages);
    }

    /// <summary>
    /// Splits dialogue text into messages at its <c>Human:</c>, <c>Assistant:</c> and <c>System:</c> markers. Text with
    /// no marker is one user message; an open final <c>Assistant:</c> turn with no text is dropped.
    /// </summary>
    /// <param name="text">The dialogue.</param>
    /// <returns>The messages in order.</returns>
    public static IReadOnlyList<ChatMessage> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<ChatMessage>();
        var markers = new (string Marker, ChatRole Role)[] { (HumanMarker, ChatRole.User), (AssistantMarker, ChatRole.Assistant), (SystemMarker, ChatRole.System) };
        var position = 0;
        ChatRole? role = null;
        var start = 0;
        while (position <= text.Length)
        {
            var next = -1;
            var nextMarker = (Marker: string.Empty, Role: ChatRole.User);
            foreach (var m in markers)
            {
                var at = text.IndexOf(m.Marker, position, StringComparison.Ordinal);
                if (at >= 0 && (next < 0 || at < next))
                {
                    next = at;
                    nextMarker = m;
                }
            }

            var end = next < 0 ? text.Length : next;
            var content = text[start..end].Trim();
            if (role is null)
            {
                if (content.Length > 0)
                {
                    result.Add(new ChatMessage(ChatRole.User, content));
                }
            }
            else if (content.Length > 0 || next >= 0)
            {
                result.Add(new ChatMessage(role.Value, content));
            }

            if (next < 0)
            {
                break;
            }

            role = nextMarker.Role;
            start = next + nextMarker.Marker.Length;
            position = start;
        }

        return result;
    }

    /// <summary>
    /// Splits two whole dialogues that share a history into the shared prompt and the two final responses (TRL's
    /// implicit-prompt layout). The prompt ends at the last <c>Assistant:</c> marker inside the common prefix; when there is
    /// none, at the common prefix itself, moved back to before a trailing space. <c>prompt + chosen</c> and
    /// <c>prompt + rejected</c> give back the inputs exactly.
    /// </summary>
    /// <param name="chosen">The preferred dialogue.</param>
    /// <param name="rejected">The dispreferred dialogue.</param>
    /// <returns>The prompt and the two responses.</returns>
    public static (string Prompt, string Chosen, string Rejected) SplitSharedPrompt(string chosen, string rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        var common = 0;
        var max = Math.Min(chosen.Length, rejected.Length);
        while (common < max && chosen[common] == rejected[common])
        {
            common++;
        }

        var cut = chosen.LastIndexOf(AssistantMarker, Math.Max(0, common - 1), StringComparison.Ordinal) is var at and >= 0
            && at + AssistantMarker.Length <= common
            ? at + AssistantMarker.Length
            : common;
        if (cut == common && common > 0 && common < max && chosen[common - 1] == ' ')
        {
            cut--;
        }

        return (chosen[..cut], chosen[cut..], rejected[cut..]);
    }

    /// <summary>Joins a prompt and a response into one text, adding a line break when neither side brings whitespace.</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="response">The response.</param>
    /// <returns>The joined text.</returns>
    public static string Join(string prompt, string response)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(response);
        if (prompt.Length == 0 || response.Length == 0 || char.IsWhiteSpace(prompt[^1]) || char.IsWhiteSpace(response[0]))
        {
            return prompt + response;
        }

        return prompt + "\n" + response;
    }
}
