using LlmAdapt.Training.Internal;

namespace LlmAdapt.Training.Tests.Heads;

public sealed class HeadNetworkTests
{
    /// <summary>Cross-entropy of the network on a fixed batch, for finite differences.</summary>
    private static double Loss(HeadNetwork net, float[] x, int[] y, int batch)
    {
        var logits = new float[batch * net.Outputs];
        net.Forward(x, batch, logits, null);
        double loss = 0;
        for (var b = 0; b < batch; b++)
        {
            var p = Classification.Softmax(logits.AsSpan(b * net.Outputs, net.Outputs));
            loss -= Math.Log(p[y[b]]);
        }

        return loss;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void Gradients_MatchFiniteDifferences(int hidden)
    {
        const int Batch = 4;
        const int Inputs = 6;
        const int Outputs = 3;
        // Seeded so no ReLU input lies within the step of zero: a difference across the kink measures nothing.
        var random = new Random(8);
        var net = new HeadNetwork(Inputs, hidden, Outputs, dropout: 0, random);
        var x = Enumerable.Range(0, Batch * Inputs).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var y = new[] { 0, 2, 1, 2 };
        net.FitStandardization(Enumerable.Range(0, Batch).Select(b => x.AsSpan(b * Inputs, Inputs).ToArray()).ToArray());

        // Analytic: dL/dlogits = p − onehot, back through the layers.
        var logits = new float[Batch * Outputs];
        net.ZeroGrad();
        net.Forward(x, Batch, logits, null);
        var dLogits = new float[logits.Length];
        for (var b = 0; b < Batch; b++)
        {
            var p = Classification.Softmax(logits.AsSpan(b * Outputs, Outputs));
            for (var k = 0; k < Outputs; k++)
            {
                dLogits[(b * Outputs) + k] = (float)(p[k] - (k == y[b] ? 1 : 0));
            }
        }

        net.Backward(dLogits, Batch);

        const float H = 1e-3f;
        foreach (var layer in net.Layers)
        {
            foreach (var (param, grad) in new[] { (layer.Weight, layer.WeightGrad), (layer.Bias, layer.BiasGrad) })
            {
                for (var i = 0; i < param.Length; i++)
                {
                    var keep = param[i];
                    param[i] = keep + H;
                    var up = Loss(net, x, y, Batch);
                    param[i] = keep - H;
                    var down = Loss(net, x, y, Batch);
                    param[i] = keep;
                    var numeric = (up - down) / (2 * H);
                    Assert.True(Math.Abs(numeric - grad[i]) < 2e-3 + (2e-2 * Math.Abs(numeric)), $"hidden={hidden} param {i}: analytic {grad[i]}, numeric {numeric}");
                }
            }
        }
    }

    [Fact]
    public void Dropout_IsOffAtInference_AndScaledInTraining()
    {
        var net = new HeadNetwork(4, 64, 2, dropout: 0.5f, new Random(1));
        var x = new float[] { 0.5f, -1, 2, 0.25f };
        var a = new float[2];
        var b = new float[2];
        net.Forward(x, 1, a, null);
        net.Forward(x, 1, b, null);
        Assert.Equal(a, b);
        var c = new float[2];
        net.Forward(x, 1, c, new Random(2));
        Assert.NotEqual(a, c);
    }
}
