namespace LlmAdapt.Onnx.Export;

/// <summary>One projection's LoRA update in PEFT's orientation: ΔW·x = scale·B·(A·x) with A [rank, in], B [out, rank] and scale alpha / rank.</summary>
internal sealed record LoraUpdate(string Module, int Rank, int In, int Out, float[] A, float[] B, double Scale)
{
    /// <summary>The graph input (and adapter parameter) holding A.</summary>
    public string AName => Module + ".lora_A.weight";

    /// <summary>The graph input (and adapter parameter) holding scale·B.</summary>
    public string BName => Module + ".lora_B.weight";

    /// <summary>scale·B, as the graph consumes it: the scale travels with the adapter, not the graph.</summary>
    public float[] ScaledB() => [.. B.Select(b => (float)(b * Scale))];
}
