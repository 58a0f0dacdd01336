namespace LlmAdapt.Onnx.Graph;

/// <summary>What <see cref="Int8WeightQuantizer.Quantize"/> changed.</summary>
/// <param name="QuantizedMatMuls">Weight products now on integer kernels.</param>
/// <param name="FoldedBiases">Bias additions folded into them.</param>
/// <param name="FloatWeightBytes">Bytes of the float weights replaced.</param>
/// <param name="Int8WeightBytes">Bytes of their int8 values and scales.</param>
internal sealed record Int8QuantizationReport(int QuantizedMatMuls, int FoldedBiases, long FloatWeightBytes, long Int8WeightBytes);
