using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace LlmAdapt.Benchmarks.Heads;

/// <summary>ML.NET's <c>LbfgsLogisticRegression</c> (binary) on float feature rows: the peer.</summary>
internal static class MlNetLogistic
{
    public static ITransformer Fit(MLContext ml, float[][] features, bool[] labels, float l2)
    {
        var data = Load(ml, features, labels);
        var trainer = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
        {
            LabelColumnName = nameof(Row.Label),
            FeatureColumnName = nameof(Row.Features),
            L2Regularization = l2,
            L1Regularization = 0,
        });
        return trainer.Fit(data);
    }

    /// <summary>P(label = true) for each row.</summary>
    public static float[] Probabilities(MLContext ml, ITransformer model, float[][] features)
    {
        var scored = model.Transform(Load(ml, features, new bool[features.Length]));
        return scored.GetColumn<float>("Probability").ToArray();
    }

    public static double Accuracy(float[] probabilities, bool[] labels)
        => (double)probabilities.Zip(labels).Count(x => (x.First > 0.5f) == x.Second) / labels.Length;

    private static IDataView Load(MLContext ml, float[][] features, bool[] labels)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features[0].Length);
        return ml.Data.LoadFromEnumerable(features.Select((f, i) => new Row { Features = f, Label = labels[i] }), schema);
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
