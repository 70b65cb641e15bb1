using MobileUNet.Data;
using MobileUNet.Evaluation;
using MobileUNet.Training;
using static TorchSharp.torch;

namespace MobileUNet.Tests;

public class MetricsTests
{
    [Fact]
    public void Confusion_matrix_matches_hand_count_and_drops_ignored()
    {
        // truth:      fg   fg   bg   bg   ignore fg
        // prob:       .9   .2   .7   .4   .6     .1   -> TP 1, FN 2, FP 1, TN 1
        var m = ConfusionMatrix.Of([0.9f, 0.2f, 0.7f, 0.4f, 0.6f, 0.1f], [1, 1, 0, 0, Mask.Ignore, 1]);
        Assert.Equal(new ConfusionMatrix(1, 1, 2, 1), m);
        var s = m.Metrics();
        Assert.Equal(1.0 / 4, s.IoU, 12);
        Assert.Equal(2.0 / 5, s.Dice, 12);
        Assert.Equal(1.0 / 2, s.Precision, 12);
        Assert.Equal(1.0 / 3, s.Recall, 12);
        Assert.Equal(2.0 / 5, s.PixelAccuracy, 12);
    }

    [Fact]
    public void Threshold_moves_pixels_between_classes()
    {
        var probs = new[] { 0.3f, 0.6f, 0.8f };
        byte[] truth = [1, 1, 0];
        Assert.Equal(new ConfusionMatrix(1, 1, 1, 0), ConfusionMatrix.Of(probs, truth, 0.5f));
        Assert.Equal(new ConfusionMatrix(2, 1, 0, 0), ConfusionMatrix.Of(probs, truth, 0.25f));
        Assert.Equal(new ConfusionMatrix(0, 0, 2, 1), ConfusionMatrix.Of(probs, truth, 0.9f));
    }

    [Fact]
    public void Empty_truth_and_empty_prediction_score_perfect_and_pooling_adds()
    {
        var empty = ConfusionMatrix.Of([0.1f, 0.2f], [0, 0]).Metrics();
        Assert.Equal(new SegmentationMetrics(1, 1, 1, 1, 1), empty);
        var a = new ConfusionMatrix(3, 1, 0, 6);
        var b = new ConfusionMatrix(1, 0, 3, 6);
        Assert.Equal(4.0 / 8, (a + b).Metrics().IoU, 12);
        Assert.Equal((3.0 / 4 + 1.0 / 4) / 2, SegmentationMetrics.Mean([a.Metrics(), b.Metrics()]).IoU, 12);
    }
}

public class LossTests
{
    [Fact]
    public void Bce_plus_one_minus_dice_matches_hand_values_and_skips_ignored_pixels()
    {
        Torch.EnsureReady();
        using var scope = NewDisposeScope();
        // Two scored pixels at logit 0 (p = 0.5), truth 1 and 0: BCE = ln 2; Dice = (2*0.5 + 1) / (1 + 1 + 1) = 2/3.
        var logits = tensor(new float[] { 0, 0, 25 }, [1, 1, 1, 3]);
        var target = tensor(new float[] { 1, 0, 0 }, [1, 1, 1, 3]);
        var valid = tensor(new float[] { 1, 1, 0 }, [1, 1, 1, 3]); // the third pixel (badly wrong) is ignored
        var parts = SegmentationLoss.BceDice(logits, target, valid);
        Assert.Equal(Math.Log(2), parts.Bce.item<float>(), 5);
        Assert.Equal(2.0 / 3, parts.Dice.item<float>(), 5);
        Assert.Equal(Math.Log(2) + 1.0 / 3, parts.Total.item<float>(), 5);
    }

    [Fact]
    public void Dice_per_image_averages_each_images_own_dice_by_hand()
    {
        Torch.EnsureReady();
        using var scope = NewDisposeScope();
        // Image 0: two pixels at p = 0.5, truth 1 and 0 (Dice (2*0.5 + 1) / (1 + 1 + 1) = 2/3). Image 1: no truth, two
        // pixels at p = 0.5 (Dice (0 + 1) / (1 + 0 + 1) = 1/2). Pooled: (2*0.5 + 1) / (2 + 1 + 1) = 1/2.
        var logits = zeros(2, 1, 1, 2);
        var target = tensor(new float[] { 1, 0, 0, 0 }, [2, 1, 1, 2]);
        var valid = ones(2, 1, 1, 2);
        Assert.Equal((2.0 / 3 + 1.0 / 2) / 2, SegmentationLoss.BceDice(logits, target, valid, DiceOver.Image).Dice.item<float>(), 5);
        Assert.Equal(1.0 / 2, SegmentationLoss.BceDice(logits, target, valid, DiceOver.Batch).Dice.item<float>(), 5);
        // One image: the two are the same.
        Assert.Equal(SegmentationLoss.BceDice(logits[..1], target[..1], valid[..1], DiceOver.Batch).Total.item<float>(),
                     SegmentationLoss.BceDice(logits[..1], target[..1], valid[..1], DiceOver.Image).Total.item<float>(), 6);
    }

    [Fact]
    public void Loss_is_lower_for_a_better_prediction()
    {
        Torch.EnsureReady();
        using var scope = NewDisposeScope();
        var target = tensor(new float[] { 1, 1, 0, 0 }, [1, 1, 2, 2]);
        var valid = ones(1, 1, 2, 2);
        var good = SegmentationLoss.BceDice(tensor(new float[] { 4, 4, -4, -4 }, [1, 1, 2, 2]), target, valid).Total.item<float>();
        var bad = SegmentationLoss.BceDice(tensor(new float[] { -4, 4, 4, -4 }, [1, 1, 2, 2]), target, valid).Total.item<float>();
        Assert.True(good < 0.1 && bad > 1, $"good {good}, bad {bad}");
    }

    [Fact]
    public void Schedule_warms_up_then_decays()
    {
        var o = new TrainOptions { Spec = new Model.ModelSpec(0.25, 32), Epochs = 2, StepsPerEpoch = 50, LearningRate = 1e-2, WarmupSteps = 10 };
        Assert.Equal(1e-3, LearningRateSchedule.At(o, 0), 9);
        Assert.Equal(1e-2 * 0.5 * (1 + Math.Cos(Math.PI * 50 / 100)), LearningRateSchedule.At(o, 50), 9);
        Assert.True(LearningRateSchedule.At(o, 99) < 1e-4);
        var step = o with { Schedule = ScheduleKind.Step, StepEveryEpochs = 1, StepGamma = 0.1 };
        Assert.Equal(1e-3, LearningRateSchedule.At(step, 60), 9);
    }
}
