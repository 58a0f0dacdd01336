namespace LlmAdapt.Onnx.Generation;

/// <summary>One step of a streamed generation.</summary>
/// <param name="TokenId">The id produced at this step, or -1 for the closing update that only flushes text.</param>
/// <param name="Text">The text this step makes final (may be empty while a possible stop string is held back).</param>
/// <param name="FinishReason">Set on the last update: why generation stopped.</param>
public sealed record GeneratedToken(int TokenId, string Text, GenerationFinishReason? FinishReason);
