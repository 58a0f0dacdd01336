using System.Numerics;

namespace LlmAdapt.Formats;

/// <summary>One projection's LoRA update in PEFT's orientation: ΔW·x = scale·B·(A·x) with A [rank, in], B [out, rank] and scale alpha / rank.</summary>
internal sealed record LoraUpdate(string Module, int Rank, int In, int Out, float[] A, float[] B, double Scale)
{
    /// <summary>Gets the PEFT tensor (and ONNX graph input) name of A, without PEFT's prefix.</summary>
    public string AName => Module + LoraAdapterWeights.ASuffix;

    /// <summary>Gets the PEFT tensor (and ONNX graph input) name of B, without PEFT's prefix.</summary>
    public string BName => Module + LoraAdapterWeights.BSuffix;

    /// <summary>scale·B, as a graph with LoRA inputs consumes it: the scale travels with the adapter, not the graph.</summary>
    public float[] ScaledB() => [.. B.Select(b => (float)(b * Scale))];

    /// <summary>
    /// Adds W += scale·B·A into a weight stored [out, in] (nn.Linear) or [in, out] (<paramref name="inputMajor"/>:
    /// GPT-2's Conv1D, PEFT's fan_in_fan_out), accumulating in double so the merge adds no rounding of its own.
    /// </summary>
    public void MergeInto<T>(Span<T> weight, bool inputMajor)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Merge(weight, A, B, Rank, In, Out, Scale, inputMajor);

    /// <summary>W += scale·B·A for A [r, in] and B [out, r] in any float type; see <see cref="MergeInto{T}"/>.</summary>
    public static void Merge<TW, TA>(Span<TW> weight, ReadOnlySpan<TA> a, ReadOnlySpan<TA> b, int rank, int inFeatures, int outFeatures, double scale, bool inputMajor)
        where TW : unmanaged, IBinaryFloatingPointIeee754<TW>
        where TA : unmanaged, IBinaryFloatingPointIeee754<TA>
    {
        if (weight.Length != (long)inFeatures * outFeatures || a.Length != (long)rank * inFeatures || b.Length != (long)outFeatures * rank)
        {
            throw new ArgumentException($"LoRA merge: weight {weight.Length}, A {a.Length}, B {b.Length} values do not fit rank {rank}, in {inFeatures}, out {outFeatures}.");
        }

        var row = new double[outFeatures];
        for (var i = 0; i < inFeatures; i++)
        {
            // row[o] = Σk A[k, i]·B[o, k]: column i of B·A.
            Array.Clear(row);
            for (var k = 0; k < rank; k++)
            {
                var aki = double.CreateTruncating(a[(k * inFeatures) + i]);
                if (aki == 0)
                {
                    continue;
                }

                for (var o = 0; o < outFeatures; o++)
                {
                    row[o] += aki * double.CreateTruncating(b[(o * rank) + k]);
                }
            }

            for (var o = 0; o < outFeatures; o++)
            {
                var index = inputMajor ? (i * outFeatures) + o : (o * inFeatures) + i;
                weight[index] = TW.CreateTruncating(double.CreateTruncating(weight[index]) + (scale * row[o]));
            }
        }
    }
}
