using LlmAdapt.Training.Heads;

namespace LlmAdapt.Training.Tests.Heads;

public sealed class ClassificationMetricsTests
{
    [Fact]
    public void HandComputedExample()
    {
        // truth:     a a a b b c
        // predicted: a a b b c c   (confidences 0.9 0.8 0.6 0.7 0.55 0.95)
        string[] labels = ["a", "b", "c"];
        int[] truth = [0, 0, 0, 1, 1, 2];
        double[][] p =
        [
            [0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.3, 0.6, 0.1],
            [0.2, 0.7, 0.1], [0.05, 0.4, 0.55], [0.0, 0.05, 0.95],
        ];
        var m = ClassificationMetrics.Compute(labels, truth, p, bins: 10);

        Assert.Equal(4.0 / 6, m.Accuracy, 12);
        Assert.Equal(new[] { 2, 1, 0 }, m.ConfusionMatrix[0]);
        Assert.Equal(new[] { 0, 1, 1 }, m.ConfusionMatrix[1]);
        Assert.Equal(new[] { 0, 0, 1 }, m.ConfusionMatrix[2]);

        // F1: a = 2·2/(3+2) = 0.8; b = 2·1/(2+2) = 0.5; c = 2·1/(1+2) = 2/3.
        Assert.Equal((0.8 + 0.5 + (2.0 / 3)) / 3, m.MacroF1, 12);

        // Bins of width 0.1: 0.9→[0.9,1): {0.9 ✓, 0.95 ✓}; 0.8: {0.8 ✓}; 0.7: {0.7 ✓}; 0.6: {0.6 ✗}; 0.5: {0.55 ✗}.
        var expected = ((2.0 / 6) * Math.Abs(1 - 0.925)) + ((1.0 / 6) * 0.2) + ((1.0 / 6) * 0.3) + ((1.0 / 6) * 0.6) + ((1.0 / 6) * 0.55);
        Assert.Equal(expected, m.ExpectedCalibrationError, 12);
    }

    [Fact]
    public void PerfectAndConfident_HasNoCalibrationError()
    {
        var m = ClassificationMetrics.Compute(["x", "y"], [0, 1], [[1.0, 0.0], [0.0, 1.0]]);
        Assert.Equal(1, m.Accuracy);
        Assert.Equal(1, m.MacroF1);
        Assert.Equal(0, m.ExpectedCalibrationError, 12);
    }
}
