using MobileUNet.Data;
using MobileUNet.Inference;

namespace MobileUNet.Evaluation;

public sealed record ImageScore(string Name, int Width, int Height, ConfusionMatrix Confusion, SegmentationMetrics Metrics);

/// <summary>
/// Scores of one model on one dataset. <see cref="Mean"/> averages per-image scores (each photo counts
/// once); <see cref="Pooled"/> scores all pixels of the set together (the PASCAL VOC convention).
/// </summary>
/// <see cref="EmptyImages"/> counts images whose ground truth and prediction are both empty: each scores IoU 1 in
/// the mean (the usual smoothed metric), so the report says how many there were.
public sealed record EvalReport(string Model, string Dataset, float Threshold, int Images, SegmentationMetrics Mean,
                                SegmentationMetrics Pooled, IReadOnlyList<ImageScore> PerImage, int EmptyImages = 0);

/// <summary>Runs a segmenter over a dataset at the photos' own resolution (predictions resized back), as predict does.</summary>
public static class Evaluator
{
    public static EvalReport Run(ISegmenter segmenter, ISegmentationDataset dataset, string modelName, float? threshold = null,
                                 IProgress<int>? progress = null, CancellationToken cancel = default) =>
        // Unless given, the threshold is the one the model records.
        Score(segmenter, dataset, modelName, threshold ?? segmenter.Threshold, progress, cancel);

    static EvalReport Score(ISegmenter segmenter, ISegmentationDataset dataset, string modelName, float threshold,
                            IProgress<int>? progress, CancellationToken cancel)
    {
        if (!(threshold is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(threshold), $"the threshold must be in (0, 1), got {threshold}.");
        var scores = new List<ImageScore>(dataset.Count);
        var pooled = default(ConfusionMatrix);
        for (int i = 0; i < dataset.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var sample = dataset.Load(i);
            var probabilities = ImageSegmentation.Probabilities(segmenter, sample.Image);
            var confusion = ConfusionMatrix.Of(probabilities, sample.Mask.Labels, threshold);
            pooled += confusion;
            scores.Add(new ImageScore(sample.Name, sample.Image.Width, sample.Image.Height, confusion, confusion.Metrics()));
            progress?.Report(i + 1);
        }
        // Ground truth without a single foreground pixel scores any empty prediction as perfect: refuse it.
        if (pooled.TruePositive + pooled.FalseNegative == 0)
            throw new InvalidDataException($"{dataset.Description}: no foreground pixels in the ground truth of any of {scores.Count} images; check the mask values (0/255, or the foreground class value / VOC class ids given).");
        int empty = scores.Count(s => s.Confusion.TruePositive + s.Confusion.FalseNegative + s.Confusion.FalsePositive == 0);
        return new EvalReport(modelName, dataset.Description, threshold, scores.Count,
            SegmentationMetrics.Mean([.. scores.Select(s => s.Metrics)]), pooled.Metrics(), scores, empty);
    }
}
