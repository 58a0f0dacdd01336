namespace LlmAdapt.Onnx.Graph;

/// <summary>How <see cref="Int8WeightQuantizer"/> turns the float input of a quantized product into 8-bit integers at run time.</summary>
internal enum Int8ActivationQuantization
{
    /// <summary>
    /// One scale and zero point for the whole input tensor (<c>com.microsoft.DynamicQuantizeMatMul</c>): the fastest,
    /// but one large value anywhere in the batch (a padding row, another text's outlier token) coarsens every row.
    /// </summary>
    PerTensor,

    /// <summary>
    /// One scale per row (per token; symmetric, or over 255 levels for an input calibrated as never negative, which is
    /// shifted first): <c>QuantizeLinear</c> along the rows, <c>com.microsoft.MatMulIntegerToFloat</c>
    /// (uint8 × int8, the column scales applied in the kernel), then the row scales and the bias. Each token keeps its own range,
    /// and a text's result does not depend on the other texts in its batch.
    /// </summary>
    PerRow,

    /// <summary>
    /// <see cref="PerRow"/> for the GELU output (with calibration: an input almost never negative, which is also shifted
    /// to use all 256 steps), where one token can span many times the range of another; <see cref="PerTensor"/> for the
    /// rest (layer normalization outputs, whose outlier channels are smoothed, and the attention context). Without
    /// calibration, every input that is not a layer normalization's output is quantized per row.
    /// </summary>
    Mixed,
}
