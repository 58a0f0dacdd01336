using System.Numerics;
using LlmAdapt.Training.Data;
using LlmAdapt.Training.FineTuning;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.Dpo;

/// <summary>
/// The DPO objective on the decoder loop: each micro-batch runs a pair's chosen and rejected sequences through the
/// policy in one forward of 2·B rows, sums each response's token log-probabilities, evaluates the pair loss against the
/// cached reference sums, and backs the per-pair derivatives through the cross-entropy backward as per-token weights.
/// Pairs are drawn through an <see cref="EpochOrder"/> (a shuffled order per epoch from (seed, epoch)), so step s sees
/// the same pairs whether or not the run was interrupted before it.
/// </summary>
internal sealed class DpoObjective : ITrainingObjective
{
    private readonly DecoderModel<float> _model;
    private readonly DpoLoss _loss;
    private readonly IReadOnlyList<TokenizedPair> _train;
    private readonly ReferenceLogProbs _trainReference;
    private readonly IReadOnlyList<TokenizedPair> _validation;
    private readonly ReferenceLogProbs _validationReference;
    private readonly int _batch;
    private readonly int _t;
    private readonly int _accumulation;
    private readonly int _validationPairs;
    private readonly EpochOrder _order;
    private DpoMetrics _pending = new();

    public DpoObjective(DecoderModel<float> model, DpoLoss loss, IReadOnlyList<TokenizedPair> train, ReferenceLogProbs trainReference, IReadOnlyList<TokenizedPair> validation, ReferenceLogProbs validationReference, DecoderTrainingOptions options, int t, int seed)
    {
        _model = model;
        _loss = loss;
        _train = train;
        _trainReference = trainReference;
        _validation = validation;
        _validationReference = validationReference;
        _batch = options.BatchSize;
        _accumulation = options.GradientAccumulationSteps;
        _t = t;
        _order = new EpochOrder(train.Count, seed);
        _validationPairs = (int)Math.Min(validation.Count, (long)options.EvaluationBatches * _batch);
    }

    public long TokensPerMicroBatch => 2L * _batch * _t;

    public long EpochTokens => 2L * _train.Count * _t;

    public bool HasValidation => _validation.Count > 0;

    public double? TrainMicroBatch(int step, int micro, Random random, double lossScale)
    {
        var indices = new int[_batch];
        var first = ((((long)step - 1) * _accumulation) + micro) * _batch;
        for (var j = 0; j < _batch; j++)
        {
            indices[j] = _order[first + j];
        }

        var pairs = indices.Select(i => _train[i]).ToArray();
        var reference = _trainReference.Select(indices);
        var loss = Step(_model, _loss, pairs, reference, _batch, _t, lossScale, backward: true, _pending);
        return loss;
    }

    public IReadOnlyDictionary<string, double>? TakeTrainingMetrics()
    {
        var metrics = _pending.ToDictionary(string.Empty);
        _pending = new DpoMetrics();
        return metrics;
    }

    public double Validate(out IReadOnlyDictionary<string, double>? metrics)
    {
        var totals = new DpoMetrics();
        for (var start = 0; start < _validationPairs; start += _batch)
        {
            var count = Math.Min(_batch, _validationPairs - start);
            var indices = Enumerable.Range(start, count).ToArray();
            Step(_model, _loss, indices.Select(i => _validation[i]).ToArray(), _validationReference.Select(indices), _batch, _t, 1.0, backward: false, totals);
        }

        metrics = totals.ToDictionary("eval_");
        return totals.Loss;
    }

    /// <summary>
    /// Runs one batch of pairs through the policy: forward, pair losses against <paramref name="reference"/>, and (with
    /// <paramref name="backward"/>) the gradients of <paramref name="lossScale"/> × the mean pair loss. Adds each pair's
    /// numbers to <paramref name="metrics"/> and returns the mean loss.
    /// </summary>
    public static double Step<T>(DecoderModel<T> model, DpoLoss loss, IReadOnlyList<TokenizedPair> pairs, (float[] Chosen, float[] Rejected) reference, int batch, int t, double lossScale, bool backward, DpoMetrics? metrics)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (inputs, targets) = DpoPairs.Pack(pairs, batch, t);
        model.Forward(inputs, targets, 2 * batch, t);
        var sums = new double[2 * batch];
        model.SumTargetLogProbs(sums);
        var weights = backward ? new float[2 * batch * t] : null;
        var total = 0.0;
        for (var j = 0; j < pairs.Count; j++)
        {
            var pair = pairs[j];
            var (l, dChosen, dRejected, rewardChosen, rewardRejected) = loss.Evaluate(sums[j], sums[batch + j], reference.Chosen[j], reference.Rejected[j], pair.Chosen.Length, pair.Rejected.Length);
            total += l;
            metrics?.Add(l, rewardChosen, rewardRejected, sums[j], sums[batch + j]);
            if (weights is not null)
            {
                // Each token's loss is −log p, so the weight on it is −∂L/∂(Σ log p) / pairs.
                weights.AsSpan(j * t, t).Fill((float)(-dChosen / pairs.Count));
                weights.AsSpan((batch + j) * t, t).Fill((float)(-dRejected / pairs.Count));
            }
        }

        if (weights is not null)
        {
            model.BackwardSummed(weights, lossScale);
        }

        return total / pairs.Count;
    }

}

/// <summary>Running sums of TRL's DPO metrics over pairs.</summary>
internal sealed class DpoMetrics
{
    private double _loss, _chosen, _rejected, _correct, _logpChosen, _logpRejected;

    public int Count { get; private set; }

    public double Loss => Count == 0 ? double.NaN : _loss / Count;

    public double Accuracy => Count == 0 ? double.NaN : _correct / Count;

    public double RewardChosen => Count == 0 ? double.NaN : _chosen / Count;

    public double RewardRejected => Count == 0 ? double.NaN : _rejected / Count;

    public double LogpChosen => Count == 0 ? double.NaN : _logpChosen / Count;

    public double LogpRejected => Count == 0 ? double.NaN : _logpRejected / Count;

    public void Add(double loss, double rewardChosen, double rewardRejected, double logpChosen, double logpRejected)
    {
        Count++;
        _loss += loss;
        _chosen += rewardChosen;
        _rejected += rewardRejected;

        // As TRL: a tie is not a win.
        _correct += rewardChosen > rewardRejected ? 1 : 0;
        _logpChosen += logpChosen;
        _logpRejected += logpRejected;
    }

    /// <summary>Returns the means under TRL's names, each prefixed with <paramref name="prefix"/>, or null when empty.</summary>
    public IReadOnlyDictionary<string, double>? ToDictionary(string prefix) => Count == 0 ? null : new Dictionary<string, double>
    {
        [prefix + "loss"] = Loss,
        [prefix + "rewards/chosen"] = RewardChosen,
        [prefix + "rewards/rejected"] = RewardRejected,
        [prefix + "rewards/accuracies"] = Accuracy,
        [prefix + "rewards/margins"] = RewardChosen - RewardRejected,
        [prefix + "logps/chosen"] = LogpChosen,
        [prefix + "logps/rejected"] = LogpRejected,
    };
}
