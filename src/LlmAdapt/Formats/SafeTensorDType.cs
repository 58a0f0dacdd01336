namespace LlmAdapt.Formats;

/// <summary>The element types of the safetensors format that LlmAdapt reads and writes.</summary>
public enum SafeTensorDType
{
    /// <summary>32-bit IEEE float (<c>F32</c>).</summary>
    F32,

    /// <summary>16-bit IEEE float (<c>F16</c>), read as <see cref="float"/>.</summary>
    F16,

    /// <summary>bfloat16 (<c>BF16</c>), read as <see cref="float"/>.</summary>
    BF16,

    /// <summary>64-bit IEEE float (<c>F64</c>), read as <see cref="float"/>.</summary>
    F64,

    /// <summary>64-bit signed integer (<c>I64</c>).</summary>
    I64,

    /// <summary>32-bit signed integer (<c>I32</c>).</summary>
    I32,
}
