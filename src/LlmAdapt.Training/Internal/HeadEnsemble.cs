using LlmAdapt.Training.Heads;

namespace LlmAdapt.Training.Internal;

/// <summary>
/// Trains one head or an ensemble of heads on the same split, one after another, and merges the ensemble into one
/// network (<see cref="HeadNetwork.Merge"/>). Member 0 continues the caller's random stream, so an ensemble of one is
/// the single head; member m draws its initial weights, batch order and dropout from a stream of its own.
/// </summary>
internal static class HeadEnsemble
{
    /// <summary>
    /// Trains <see cref="IHeadSettings.EnsembleSize"/> heads of the settings' shape (<paramref name="inputs"/> features,
    /// a hidden layer of <see cref="IHeadSettings.HiddenSize"/> for an MLP, <paramref name="outputs"/> outputs, the
    /// settings' dropout) on a worker thread; see <see cref="Train"/>.
    /// </summary>
    public static Task<(HeadNetwork Network, TrainingReport Report, double BestEpoch)> TrainAsync(
        IHeadSettings settings,
        int inputs,
        int outputs,
        int seed,
        Random random,
        (float[] Mean, float[] Scale) standardization,
        Func<HeadNetwork, EpochLoop> loopFor,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        var hidden = settings.Head == HeadKind.Mlp ? settings.HiddenSize : 0;
        return Task.Run(
            () => Train(
                settings.EnsembleSize,
                seed,
                random,
                rng => new HeadNetwork(inputs, hidden, outputs, (float)settings.Dropout, rng) { InputDropout = (float)settings.InputDropout },
                standardization,
                loopFor,
                progress,
                cancellationToken),
            cancellationToken);
    }

    /// <param name="members">How many heads to train.</param>
    /// <param name="seed">The request's seed; member m &gt; 0 uses a stream derived from it.</param>
    /// <param name="random">The caller's stream, used by member 0.</param>
    /// <param name="create">Makes an untrained network (its layers initialised from the given stream).</param>
    /// <param name="standardization">The input standardisation all members share.</param>
    /// <param name="loopFor">The epoch loop that trains the given network.</param>
    /// <param name="progress">Receives every member's epochs.</param>
    /// <param name="cancellationToken">Stops training.</param>
    public static (HeadNetwork Network, TrainingReport Report, double BestEpoch) Train(
        int members,
        int seed,
        Random random,
        Func<Random, HeadNetwork> create,
        (float[] Mean, float[] Scale) standardization,
        Func<HeadNetwork, EpochLoop> loopFor,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        var trained = new List<HeadNetwork>(members);
        TrainingReport? first = null;
        var steps = 0;
        var duration = TimeSpan.Zero;
        double bestEpochs = 0;
        for (var m = 0; m < members; m++)
        {
            var stream = m == 0 ? random : new Random(unchecked((seed * 1_000_003) + (m * 7919)));
            var network = create(stream);
            network.SetStandardization(standardization.Mean, standardization.Scale);

            var (report, bestEpoch) = loopFor(network).Run(stream, progress, cancellationToken);
            first ??= report;
            steps += report.Steps;
            duration += report.Duration;
            bestEpochs += bestEpoch;
            trained.Add(network);
        }

        return (HeadNetwork.Merge(trained), first! with { Steps = steps, Duration = duration }, bestEpochs / members);
    }
}

/// <summary>The settings every head trainer's options carry: the epoch loop's, and the network's shape, dropout and ensemble size.</summary>
internal interface IHeadSettings : IEpochSettings
{
    HeadKind Head { get; }

    int HiddenSize { get; }

    double Dropout { get; }

    double InputDropout { get; }

    int EnsembleSize { get; }
}
