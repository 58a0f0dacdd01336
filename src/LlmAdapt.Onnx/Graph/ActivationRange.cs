namespace LlmAdapt.Onnx.Graph;

/// <summary>What calibration saw of one quantized product's input: the largest |value| per channel (last axis) and the smallest value overall.</summary>
/// <param name="ChannelAbsMax">max |x| of each channel.</param>
/// <param name="Minimum">The smallest value of any channel.</param>
internal sealed record ActivationRange(float[] ChannelAbsMax, float Minimum);
