using System.Numerics.Tensors;
using Google.Protobuf;
using LlmAdapt.Onnx.Graph;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using Onnx;

namespace LlmAdapt.Onnx.Embeddings;

/// <summary>
/// Runs the float model on a fixed, built-in set of texts (short and long, everyday and technical) and records what
/// the input of each product <see cref="Int8WeightQuantizer"/> will quantize looks like: max |x| per channel and the
/// smallest value. Each text runs alone, so no padding enters the statistics. The set is part of the quantizer's
/// version: changing it changes <see cref="Int8WeightQuantizer.Version"/>.
/// </summary>
internal static class Int8Calibration
{
    /// <summary>The calibration texts: written for this purpose, from one word to a long technical paragraph.</summary>
    internal static readonly string[] Texts =
    [
        "thanks",
        "ok",
        "Hello!",
        "no way",
        "good movie",
        "What time is it?",
        "The cat sat on the mat.",
        "I loved every minute of this film, and so did my kids.",
        "The plot is thin, the acting is wooden and the ending drags on for far too long.",
        "Where can I find the invoice for last month's order #4471?",
        "Reset your password from the account page, then sign in again.",
        "Quarterly revenue rose 12% to $4.1 billion, beating analysts' estimates.",
        "def add(a, b): return a + b  # sums two numbers",
        "SELECT name, price FROM products WHERE price > 100 ORDER BY price DESC;",
        "Der Zug nach Berlin fährt um 8:15 Uhr von Gleis 3 ab.",
        "La réunion est reportée à jeudi prochain.",
        "Photosynthesis converts light energy into chemical energy stored in glucose.",
        "The patient reported mild headache and nausea after the second dose.",
        "Fine-tuning a pretrained language model on a small labelled dataset often beats training from scratch.",
        "Retrieval-augmented generation fetches relevant passages and adds them to the prompt before the model answers.",
        "An experimental study of the boundary layer on a flat plate at supersonic speeds, with heat transfer "
            + "measured along the plate and compared with laminar and turbulent theory. The transition Reynolds number "
            + "was found to depend strongly on the leading-edge bluntness and on the wall temperature ratio.",
        "The committee reviewed the proposal in detail. It noted that the budget for the second year had not been "
            + "justified, that two of the planned experiments duplicated earlier work, and that the data management plan "
            + "did not say how long records would be kept. It asked the applicants to revise these sections and resubmit "
            + "within six weeks, after which a final decision would be made.",
        "In this paper we propose a method for estimating the aerodynamic loads on slender bodies of revolution at "
            + "small angles of attack. The method combines slender-body theory for the potential flow with an empirical "
            + "correction for viscous cross-flow, and its predictions agree with wind-tunnel measurements at Mach numbers "
            + "from 0.6 to 2.8 within the scatter of the data. Limitations at large incidence are discussed.",
        "A simple, friendly hotel close to the station. Rooms were clean and quiet, breakfast was generous, and the "
            + "staff helped us book a taxi to the airport at five in the morning. Would stay again.",
        "Error: connection refused (ECONNREFUSED) at 127.0.0.1:5432 — is the database running?",
        "1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
        "\"To be, or not to be, that is the question.\"",
        "Why does the sky look blue during the day but red at sunset?",
    ];

    /// <summary>Measures the model's quantizable inputs on <see cref="Texts"/>.</summary>
    /// <param name="model">The float model (parsed; not changed).</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="maxSequenceLength">The longest encoding, <c>[CLS]</c> and <c>[SEP]</c> included.</param>
    /// <returns>The ranges by input name.</returns>
    public static Dictionary<string, ActivationRange> Measure(ModelProto model, BertTokenizer tokenizer, int maxSequenceLength)
    {
        var probe = model.Clone();
        var inputs = Int8WeightQuantizer.QuantizableInputs(probe);
        foreach (var name in inputs)
        {
            probe.Graph.Output.Add(new ValueInfoProto { Name = name });
        }

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC };
        using var session = new InferenceSession(probe.ToByteArray(), options);
        var withTypes = session.InputMetadata.ContainsKey(BertEncoderSession.TokenTypeIds);
        var maxima = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var minima = new Dictionary<string, float>(StringComparer.Ordinal);
        var names = inputs.ToArray();
        foreach (var text in Texts)
        {
            var pieces = tokenizer.EncodeToIds(text, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true);
            var count = Math.Min(pieces.Count, maxSequenceLength - 2);
            var ids = new long[count + 2];
            ids[0] = tokenizer.ClassificationTokenId;
            for (var i = 0; i < count; i++)
            {
                ids[i + 1] = pieces[i];
            }

            ids[^1] = tokenizer.SeparatorTokenId;
            long[] shape = [1, ids.Length];
            using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, ids.Length).ToArray(), shape);
            using var typesValue = OrtValue.CreateTensorValueFromMemory(new long[ids.Length], shape);
            OrtValue[] values = withTypes ? [idsValue, maskValue, typesValue] : [idsValue, maskValue];
            string[] inputNames = withTypes
                ? [BertEncoderSession.InputIds, BertEncoderSession.AttentionMask, BertEncoderSession.TokenTypeIds]
                : [BertEncoderSession.InputIds, BertEncoderSession.AttentionMask];
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputNames, values, names);
            for (var o = 0; o < names.Length; o++)
            {
                var data = outputs[o].GetTensorDataAsSpan<float>();
                var channels = (int)outputs[o].GetTensorTypeAndShape().Shape[^1];
                if (!maxima.TryGetValue(names[o], out var max))
                {
                    maxima[names[o]] = max = new float[channels];
                    minima[names[o]] = 0;
                }

                for (var row = 0; row + channels <= data.Length; row += channels)
                {
                    var rowValues = data.Slice(row, channels);
                    for (var c = 0; c < channels; c++)
                    {
                        max[c] = MathF.Max(max[c], MathF.Abs(rowValues[c]));
                    }
                }

                minima[names[o]] = MathF.Min(minima[names[o]], TensorPrimitives.Min(data));
            }
        }

        return maxima.ToDictionary(p => p.Key, p => new ActivationRange(p.Value, minima[p.Key]), StringComparer.Ordinal);
    }
}
