namespace LlmAdapt.Onnx.Generation;

/// <summary>The folder layouts <see cref="OnnxDecoderModel.Load"/> reads.</summary>
public enum DecoderModelLayout
{
    /// <summary>An ONNX Runtime GenAI model folder: <c>genai_config.json</c> names the decoder file and its inputs and outputs.</summary>
    OnnxRuntimeGenAI,

    /// <summary>A Hugging Face Optimum export: <c>model.onnx</c> or <c>decoder_model_merged.onnx</c> plus <c>config.json</c>.</summary>
    HuggingFaceOptimum,
}
