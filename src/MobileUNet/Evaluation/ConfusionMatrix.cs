using MobileUNet.Data;

namespace MobileUNet.Evaluation;

/// <summary>
/// Binary confusion counts over scored pixels (ignored pixels dropped, as torchvision's segmentation reference
/// drops labels outside [0, n)). Every metric is a function of these four numbers.
/// </summary>
public readonly record struct ConfusionMatrix(long TruePositive, long FalsePositive, long FalseNegative, long TrueNegative)
{
    public long Total => TruePositive + FalsePositive + FalseNegative + TrueNegative;

    public static ConfusionMatrix operator +(ConfusionMatrix a, ConfusionMatrix b) =>
        new(a.TruePositive + b.TruePositive, a.FalsePositive + b.FalsePositive, a.FalseNegative + b.FalseNegative, a.TrueNegative + b.TrueNegative);

    /// <summary>Counts probabilities (foreground when p &gt;= threshold) against mask labels.</summary>
    public static ConfusionMatrix Of(ReadOnlySpan<float> probabilities, ReadOnlySpan<byte> labels, float threshold = 0.5f)
    {
        if (probabilities.Length != labels.Length) throw new ArgumentException($"{probabilities.Length} predictions for {labels.Length} labels.");
        Span<long> counts = stackalloc long[4]; // index = 2 * truth + prediction: TN, FP, FN, TP
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] == Mask.Ignore) continue;
            counts[2 * (labels[i] == Mask.Foreground ? 1 : 0) + (probabilities[i] >= threshold ? 1 : 0)]++;
        }
        return new ConfusionMatrix(counts[3], counts[1], counts[2], counts[0]);
    }

    public SegmentationMetrics Metrics()
    {
        long tp = TruePositive, fp = FalsePositive, fn = FalseNegative;
        // Empty truth and empty prediction is a perfect answer, not 0/0.
        return new SegmentationMetrics(
            IoU: Ratio(tp, tp + fp + fn),
            Dice: Ratio(2 * tp, 2 * tp + fp + fn),
            Precision: Ratio(tp, tp + fp, whenEmpty: fn == 0 ? 1 : 0),
            Recall: Ratio(tp, tp + fn, whenEmpty: fp == 0 ? 1 : 0),
            PixelAccuracy: Ratio(tp + TrueNegative, Total));
    }

    static double Ratio(long num, long den, double whenEmpty = 1) => den == 0 ? whenEmpty : (double)num / den;
}

/// <summary>Binary segmentation scores, each in [0, 1].</summary>
public sealed record SegmentationMetrics([property: System.Text.Json.Serialization.JsonPropertyName("iou")] double IoU, double Dice, double Precision, double Recall, double PixelAccuracy)
{
    public static SegmentationMetrics Mean(IReadOnlyList<SegmentationMetrics> all) => all.Count == 0
        ? throw new ArgumentException("no metrics to average.")
        : new(all.Average(m => m.IoU), all.Average(m => m.Dice), all.Average(m => m.Precision), all.Average(m => m.Recall), all.Average(m => m.PixelAccuracy));
}
