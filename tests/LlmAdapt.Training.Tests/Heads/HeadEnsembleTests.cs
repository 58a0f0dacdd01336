using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Internal;

namespace LlmAdapt.Training.Tests.Heads;

public sealed class HeadEnsembleTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    public void Merge_OutputsTheMeanOfTheMembersOutputs(int hidden)
    {
        const int Inputs = 5;
        const int Outputs = 3;
        const int Batch = 7;
        var random = new Random(3);
        var x = Enumerable.Range(0, Batch * Inputs).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        var rows = Enumerable.Range(0, Batch).Select(b => x.AsSpan(b * Inputs, Inputs).ToArray()).ToArray();
        var members = Enumerable.Range(0, 3).Select(m =>
        {
            var net = new HeadNetwork(Inputs, hidden, Outputs, 0.3f, new Random(10 + m));
            net.FitStandardization(rows);
            return net;
        }).ToArray();

        var merged = HeadNetwork.Merge(members);

        Assert.Equal(hidden * 3, merged.Hidden);
        var expected = new double[Batch * Outputs];
        foreach (var member in members)
        {
            var logits = member.Forward(x, Batch, new float[Batch * Outputs], null);
            for (var i = 0; i < expected.Length; i++)
            {
                expected[i] += logits[i] / 3.0;
            }
        }

        var actual = merged.Forward(x, Batch, new float[Batch * Outputs], null);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 4);
        }
    }

    [Fact]
    public async Task EnsembleOfThree_SavesOneWiderHead_ThatLoadsAndPredicts()
    {
        var dir = Directory.CreateTempSubdirectory("llmadapt-ensemble-").FullName;
        try
        {
            var generator = new SyntheticEmbeddingGenerator(noise: 1.0);
            var data = new[] { "a", "b" }.SelectMany(l => Enumerable.Range(0, 60).Select(i => new TrainingExample { Input = $"{l} {i}", Label = l })).ToList();
            var options = new TaskHeadOptions { Head = HeadKind.Mlp, HiddenSize = 16, MaxEpochs = 5, EnsembleSize = 3 };
            var artifact = await new TaskHeadTrainer(generator, options).FineTuneAsync(new FineTuningRequest { TrainingSet = data, OutputPath = dir, Seed = 5 });

            var classifier = await TextClassifier.LoadAsync(artifact.Path, generator);
            var metrics = await classifier.EvaluateAsync(data);
            Assert.Equal((3 * ((16 * 16) + 16)) + (2 * 3 * 16) + 2, artifact.TrainableParameters); // 3 hidden blocks of 16 over 16 features, one output layer
            Assert.True(metrics.Accuracy > 0.9, $"ensemble training accuracy {metrics.Accuracy:F3}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
