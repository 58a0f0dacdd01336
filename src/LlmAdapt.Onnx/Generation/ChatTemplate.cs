namespace LlmAdapt.Onnx.Generation;

/// <summary>How <see cref="OnnxChatClient"/> writes a conversation into one prompt, by the model family's convention.</summary>
public enum ChatTemplate
{
    /// <summary><c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;</c> (Qwen, SmolLM, many fine-tunes); ends a turn at <c>&lt;|im_end|&gt;</c>.</summary>
    ChatML,

    /// <summary>Llama 3: <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c>; ends a turn at <c>&lt;|eot_id|&gt;</c>.</summary>
    Llama3,

    /// <summary>Phi-3: <c>&lt;|role|&gt;\ncontent&lt;|end|&gt;</c>; ends a turn at <c>&lt;|end|&gt;</c>.</summary>
    Phi3,

    /// <summary>Zephyr (TinyLlama chat): <c>&lt;|role|&gt;\ncontent&lt;/s&gt;</c>; ends a turn at <c>&lt;/s&gt;</c>.</summary>
    Zephyr,

    /// <summary><c>System: …</c>, <c>User: …</c>, <c>Assistant: …</c> paragraphs, for base models; ends a turn at a new <c>User:</c> line.</summary>
    Plain,
}
