namespace LlmAdapt.Formats;

/// <summary>What a model folder holds, as <see cref="ModelFolder.Detect"/> tells it from the file names.</summary>
public enum ModelFolderKind
{
    /// <summary>Not a folder, or none of the layouts below.</summary>
    Unknown,

    /// <summary>An ONNX Runtime GenAI folder: <c>genai_config.json</c> beside the ONNX decoder.</summary>
    OnnxRuntimeGenAI,

    /// <summary>An ONNX model without <c>genai_config.json</c> (a Hugging Face Optimum export: <c>config.json</c> + <c>*.onnx</c>).</summary>
    Onnx,

    /// <summary>A Hugging Face checkpoint: <c>config.json</c> and safetensors weights (what the training engine writes and reads).</summary>
    Checkpoint,

    /// <summary>A PEFT LoRA adapter folder: <c>adapter_config.json</c> and no weights of its own (see <see cref="PeftAdapterFolder"/>).</summary>
    PeftAdapter,
}
