namespace LlmAdapt.Training.Heads;

/// <summary>How well a classifier did on labelled examples.</summary>
public sealed record ClassificationMetrics
{
    /// <summary>Gets the number of examples.</summary>
    public required int Count { get; init; }

    /// <summary>Gets the share classified correctly.</summary>
    public required double Accuracy { get; init; }

    /// <summary>Gets the unweighted mean of the per-class F1 scores, over classes that occur in the truth or the predictions.</summary>
    public required double MacroF1 { get; init; }

    /// <summary>
    /// Gets the expected calibration error: examples binned by confidence (the top probability) into equal-width bins,
    /// then Σ (bin size / n) · |accuracy in bin − mean confidence in bin|.
    /// </summary>
    public required double ExpectedCalibrationError { get; init; }

    /// <summary>Gets the labels, in the order of the confusion matrix's rows and columns.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>Gets the confusion matrix: <c>[true label][predicted label]</c> counts.</summary>
    public required IReadOnlyList<IReadOnlyList<int>> ConfusionMatrix { get; init; }

    /// <summary>Gets the per-class F1 scores, parallel to <see cref="Labels"/>.</summary>
    public required IReadOnlyList<double> F1PerClass { get; init; }

    /// <summary>Computes the metrics.</summary>
    /// <param name="labels">The label names.</param>
    /// <param name="truth">Each example's true label index.</param>
    /// <param name="probabilities">Each example's probabilities, parallel to <paramref name="labels"/>.</param>
    /// <param name="bins">The number of confidence bins for the calibration error; from 1. Default: 15.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="ArgumentException">The inputs are empty or their lengths disagree.</exception>
    public static ClassificationMetrics Compute(IReadOnlyList<string> labels, IReadOnlyList<int> truth, IReadOnlyList<IReadOnlyList<double>> probabilities, int bins = 15)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        if (truth.Count == 0 || truth.Count != probabilities.Count)
        {
            throw new ArgumentException($"{truth.Count} true labels and {probabilities.Count} predictions; both must be equal and non-zero.", nameof(probabilities));
        }

        var c = labels.Count;
        var matrix = new int[c][];
        for (var i = 0; i < c; i++)
        {
            matrix[i] = new int[c];
        }

        var binCount = new int[bins];
        var binCorrect = new int[bins];
        var binConfidence = new double[bins];
        var correct = 0;
        for (var n = 0; n < truth.Count; n++)
        {
            var p = probabilities[n];
            if (p.Count != c)
            {
                throw new ArgumentException($"Prediction {n} has {p.Count} probabilities for {c} labels.", nameof(probabilities));
            }

            var predicted = 0;
            for (var k = 1; k < c; k++)
            {
                if (p[k] > p[predicted])
                {
                    predicted = k;
                }
            }

            var hit = predicted == truth[n];
            correct += hit ? 1 : 0;
            matrix[truth[n]][predicted]++;
            var confidence = p[predicted];
            var bin = Math.Clamp((int)(confidence * bins), 0, bins - 1);
            binCount[bin]++;
            binCorrect[bin] += hit ? 1 : 0;
            binConfidence[bin] += confidence;
        }

        var f1 = new double[c];
        var present = 0;
        var f1Sum = 0.0;
        for (var k = 0; k < c; k++)
        {
            var tp = matrix[k][k];
            var actual = matrix[k].Sum();
            var predictedCount = matrix.Sum(row => row[k]);
            if (actual == 0 && predictedCount == 0)
            {
                continue;
            }

            f1[k] = tp == 0 ? 0 : 2.0 * tp / (actual + predictedCount);
            f1Sum += f1[k];
            present++;
        }

        var ece = 0.0;
        for (var b = 0; b < bins; b++)
        {
            if (binCount[b] > 0)
            {
                ece += (double)binCount[b] / truth.Count * Math.Abs(((double)binCorrect[b] / binCount[b]) - (binConfidence[b] / binCount[b]));
            }
        }

        return new ClassificationMetrics
        {
            Count = truth.Count,
            Accuracy = (double)correct / truth.Count,
            MacroF1 = present == 0 ? 0 : f1Sum / present,
            ExpectedCalibrationError = ece,
            Labels = labels.ToArray(),
            ConfusionMatrix = matrix,
            F1PerClass = f1,
        };
    }
}
