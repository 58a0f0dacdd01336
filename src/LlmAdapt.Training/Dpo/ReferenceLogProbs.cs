using System.Globalization;
using LlmAdapt.Formats;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.Dpo;

/// <summary>
/// The reference model's summed response log-probabilities, one chosen and one rejected value per pair, computed once
/// before training and kept in <see cref="FileName"/> beside the run, named by the pairs' token fingerprint, so a
/// resumed run reads them back instead of scoring again. Values are kept as float32 in memory and on disk, so a fresh
/// and a resumed run use bit-identical numbers.
/// </summary>
internal sealed class ReferenceLogProbs(float[] chosen, float[] rejected)
{
    /// <summary>The cache file's name in the output folder.</summary>
    public const string FileName = "reference_logps.safetensors";

    public float[] Chosen { get; } = chosen;

    public float[] Rejected { get; } = rejected;

    public (float[] Chosen, float[] Rejected) Select(int[] indices) => (indices.Select(i => Chosen[i]).ToArray(), indices.Select(i => Rejected[i]).ToArray());

    /// <summary>
    /// Scores every pair with <paramref name="model"/> (its adapters switched off unless <paramref name="adaptersOff"/> is false), in batches
    /// of <paramref name="batch"/> pairs, reporting pairs done.
    /// </summary>
    public static ReferenceLogProbs Compute(DecoderModel<float> model, IReadOnlyList<TokenizedPair> pairs, int batch, int t, IProgress<ReferenceScoringProgress>? progress, CancellationToken cancellationToken, bool adaptersOff = true)
    {
        var chosen = new float[pairs.Count];
        var rejected = new float[pairs.Count];
        var training = model.Training;
        model.Training = false;
        model.AdaptersDisabled = adaptersOff && model.Lora is not null;
        try
        {
            var sums = new double[2 * batch];
            for (var start = 0; start < pairs.Count; start += batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(batch, pairs.Count - start);
                var slice = pairs.Skip(start).Take(count).ToArray();
                var (inputs, targets) = DpoPairs.Pack(slice, batch, t);
                model.Forward(inputs, targets, 2 * batch, t);
                model.SumTargetLogProbs(sums);
                for (var j = 0; j < count; j++)
                {
                    chosen[start + j] = (float)sums[j];
                    rejected[start + j] = (float)sums[batch + j];
                }

                progress?.Report(new ReferenceScoringProgress(start + count, pairs.Count));
            }
        }
        finally
        {
            model.AdaptersDisabled = false;
            model.Training = training;
        }

        return new ReferenceLogProbs(chosen, rejected);
    }

    /// <summary>Reads the cache in <paramref name="folder"/> when it exists and was made for <paramref name="fingerprint"/>; else null.</summary>
    /// <param name="folder">The folder that may hold the cache.</param>
    /// <param name="fingerprint">The pairs' token fingerprint.</param>
    /// <param name="reference">What the reference was (the base weights' digest), or null to accept any.</param>
    /// <param name="trainCount">Training pairs.</param>
    /// <param name="validationCount">Validation pairs.</param>
    public static (ReferenceLogProbs Train, ReferenceLogProbs Validation)? TryRead(string folder, string fingerprint, string? reference, int trainCount, int validationCount)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        using var reader = SafeTensorsReader.Open(path);
        if (!reader.Metadata.TryGetValue("fingerprint", out var stored) || stored != fingerprint
            || !reader.Metadata.TryGetValue("train_pairs", out var train) || train != trainCount.ToString(CultureInfo.InvariantCulture)
            || (reference is not null && (!reader.Metadata.TryGetValue("reference", out var made) || made != reference)))
        {
            return null;
        }

        return (new ReferenceLogProbs(reader.ReadSingle("train.chosen", [trainCount]), reader.ReadSingle("train.rejected", [trainCount])),
            new ReferenceLogProbs(reader.ReadSingle("validation.chosen", [validationCount]), reader.ReadSingle("validation.rejected", [validationCount])));
    }

    /// <summary>Writes the cache (atomically) into <paramref name="folder"/>.</summary>
    public static async Task WriteAsync(string folder, string fingerprint, ReferenceLogProbs train, ReferenceLogProbs validation, string reference, CancellationToken cancellationToken)
    {
        var writer = new SafeTensorsWriter();
        writer.Metadata["fingerprint"] = fingerprint;
        writer.Metadata["train_pairs"] = train.Chosen.Length.ToString(CultureInfo.InvariantCulture);
        writer.Metadata["reference"] = reference;
        writer.Add("train.chosen", train.Chosen, [train.Chosen.Length]);
        writer.Add("train.rejected", train.Rejected, [train.Rejected.Length]);
        writer.Add("validation.chosen", validation.Chosen, [validation.Chosen.Length]);
        writer.Add("validation.rejected", validation.Rejected, [validation.Rejected.Length]);
        Directory.CreateDirectory(folder);
        await writer.WriteAsync(Path.Combine(folder, FileName), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>How far scoring the pairs with the reference model has got.</summary>
/// <param name="Completed">Pairs scored so far.</param>
/// <param name="Total">Pairs to score.</param>
public sealed record ReferenceScoringProgress(int Completed, int Total);
