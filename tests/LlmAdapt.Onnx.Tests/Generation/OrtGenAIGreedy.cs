using OrtGenAI = Microsoft.ML.OnnxRuntimeGenAI;

namespace LlmAdapt.Onnx.Tests.Generation;

/// <summary>Greedy decoding with ONNX Runtime GenAI (the peer the tests compare against), one prompt at a time.</summary>
internal static class OrtGenAIGreedy
{
    /// <summary>
    /// Returns the prompt and up to <paramref name="newTokens"/> greedy ids after it, as GenAI's sequence (it ends early
    /// at an end-of-sequence id of the model's config); with <paramref name="adapters"/>, adapter <paramref name="adapter"/> is active.
    /// </summary>
    public static int[] Sequence(OrtGenAI.Model model, IReadOnlyList<int> prompt, int newTokens, OrtGenAI.Adapters? adapters = null, string? adapter = null)
    {
        using var parameters = new OrtGenAI.GeneratorParams(model);
        parameters.SetSearchOption("max_length", prompt.Count + newTokens);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new OrtGenAI.Generator(model, parameters);
        if (adapters is not null)
        {
            generator.SetActiveAdapter(adapters, adapter!);
        }

        generator.AppendTokens([.. prompt]);
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
        }

        return generator.GetSequence(0).ToArray();
    }
}
