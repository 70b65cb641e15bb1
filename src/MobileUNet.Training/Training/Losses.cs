using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Training;

/// <summary>
/// Binary cross-entropy plus (1 - soft Dice), both on logits, both skipping ignored pixels. BCE alone lets a
/// small foreground drown in easy background pixels; the Dice term scores the overlap itself (the original
/// work found the "Dice" it first minimised had the wrong sign: the loss is 1 - Dice, never Dice).
/// </summary>
internal static class SegmentationLoss
{
    public sealed record Parts(Tensor Total, Tensor Bce, Tensor Dice);

    /// <param name="logits">[N,1,S,S]</param>
    /// <param name="target">[N,1,S,S] 0/1</param>
    /// <param name="valid">[N,1,S,S] 1 where the pixel counts, 0 where ignored</param>
    /// <param name="over">Dice of the batch's pooled pixels, or of each image, averaged (an image with no foreground
    /// then scores (1 + 0) / (sum p + 1): it is pushed to predict none)</param>
    public static Parts BceDice(Tensor logits, Tensor target, Tensor valid, DiceOver over = DiceOver.Batch, double smooth = 1.0)
    {
        // Every scalar operand held, alpha included (HeldScalars: an implicit one can be freed mid-call).
        Scalar one = Model.HeldScalars.One, two = Model.HeldScalars.Two;
        using Scalar smoothing = smooth;
        var count = valid.sum().clamp_min(one);
        var bce = nn.functional.binary_cross_entropy_with_logits(logits, target, weight: valid, reduction: nn.Reduction.Sum) / count;
        var p = logits.sigmoid() * valid;
        var t = target * valid;
        var dice = over == DiceOver.Image
            ? ((p * t).sum([1, 2, 3]).mul(two).add(smoothing, one) / p.sum([1, 2, 3]).add(t.sum([1, 2, 3]), one).add(smoothing, one)).mean()
            : (p * t).sum().mul(two).add(smoothing, one) / p.sum().add(t.sum(), one).add(smoothing, one);
        return new Parts(bce.add(dice.neg().add(one, one), one), bce, dice);
    }
}

/// <summary>Learning rate at a global step: linear warm-up, then cosine decay to zero, step decay or constant.</summary>
internal static class LearningRateSchedule
{
    public static double At(TrainOptions o, long step)
    {
        long total = (long)o.Epochs * o.StepsPerEpoch;
        double warm = o.WarmupSteps > 0 && step < o.WarmupSteps ? (step + 1.0) / o.WarmupSteps : 1.0;
        double rate = o.Schedule switch
        {
            ScheduleKind.Cosine => o.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step, total) / total)),
            ScheduleKind.Step => o.LearningRate * Math.Pow(o.StepGamma, step / o.StepsPerEpoch / Math.Max(1, o.StepEveryEpochs)),
            _ => o.LearningRate,
        };
        return rate * warm;
    }
}
