namespace LlmAdapt.Training.Dpo;

/// <summary>
/// One pair's loss and its derivatives with respect to the policy's log-probabilities of the two responses. With
/// Δ = (log πθ(y⁺) − log πref(y⁺)) − (log πθ(y⁻) − log πref(y⁻)), every loss is a function of Δ, so the gradient of
/// the loss is ∂L/∂Δ times the gradient of log πθ(y⁺) − log πθ(y⁻): a per-sequence scalar on each response's summed
/// token log-probabilities, which the engine's cross-entropy backward applies as per-token weights.
/// </summary>
internal readonly record struct DpoLoss(DpoLossType Type, double Beta, double LabelSmoothing)
{
    /// <summary>Returns the loss, ∂L/∂(summed log πθ) of chosen and rejected, and TRL's implicit rewards β·(log πθ − log πref).</summary>
    /// <param name="policyChosen">Σ log πθ over the chosen response's tokens.</param>
    /// <param name="policyRejected">Σ log πθ over the rejected response's tokens.</param>
    /// <param name="referenceChosen">Σ log πref over the chosen response's tokens.</param>
    /// <param name="referenceRejected">Σ log πref over the rejected response's tokens.</param>
    /// <param name="chosenTokens">The chosen response's token count (IPO normalises by it).</param>
    /// <param name="rejectedTokens">The rejected response's token count.</param>
    public (double Loss, double DChosen, double DRejected, double RewardChosen, double RewardRejected) Evaluate(
        double policyChosen, double policyRejected, double referenceChosen, double referenceRejected, int chosenTokens, int rejectedTokens)
    {
        // IPO works on mean per-token log-probabilities (TRL divides by the completion length); the others on sums.
        var (nc, nr) = Type == DpoLossType.Ipo ? (1.0 / chosenTokens, 1.0 / rejectedTokens) : (1.0, 1.0);
        var chosen = (policyChosen - referenceChosen) * nc;
        var rejected = (policyRejected - referenceRejected) * nr;
        var delta = chosen - rejected;
        var s = Beta * delta;
        double loss, dDelta;
        switch (Type)
        {
            case DpoLossType.Ipo:
                var gap = delta - (1.0 / (2.0 * Beta));
                loss = gap * gap;
                dDelta = 2.0 * gap;
                break;
            case DpoLossType.Hinge:
                loss = Math.Max(0.0, 1.0 - s);
                dDelta = s < 1.0 ? -Beta : 0.0;
                break;
            case DpoLossType.Robust:
            {
                var e = LabelSmoothing;
                loss = (((1 - e) * Softplus(-s)) - (e * Softplus(s))) / (1 - (2 * e));
                dDelta = Beta * ((-(1 - e) * Sigmoid(-s)) - (e * Sigmoid(s))) / (1 - (2 * e));
                break;
            }

            default:
            {
                // Sigmoid; with label smoothing ε it is conservative DPO: (1 − ε)·(−log σ(s)) + ε·(−log σ(−s)).
                var e = LabelSmoothing;
                loss = ((1 - e) * Softplus(-s)) + (e * Softplus(s));
                dDelta = Beta * ((-(1 - e) * Sigmoid(-s)) + (e * Sigmoid(s)));
                break;
            }
        }

        return (loss, dDelta * nc, -dDelta * nr, Beta * chosen, Beta * rejected);
    }

    /// <summary>log(1 + eˣ), stable for large |x|.</summary>
    private static double Softplus(double x) => x > 0 ? x + double.LogP1(Math.Exp(-x)) : double.LogP1(Math.Exp(x));

    private static double Sigmoid(double x) => x >= 0 ? 1.0 / (1.0 + Math.Exp(-x)) : Math.Exp(x) / (1.0 + Math.Exp(x));
}
