using MobileUNet.Data;
using MobileUNet.Inference;

namespace MobileUNet.Evaluation;

public sealed record ImageScore(string Name, int Width, int Height, ConfusionMatrix Confusion, SegmentationMetrics Metrics);

/// <summary>
/// Scores of one model on one dataset. <see cref="Mean"/> averages per-image scores (each photo counts
/// once); <see cref="Pooled"/> scores all pixels of the set together (the PASCAL VOC convention).
/// </summary>
public sealed record EvalReport(string Model, string Dataset, float Threshold, int Images, SegmentationMetrics Mean,
                                SegmentationMetrics Pooled, IReadOnlyList<ImageScore> PerImage);

/// <summary>Runs a segmenter over a dataset at the photos' own resolution (predictions resized back), as predict does.</summary>
public static class Evaluator
{
    public static EvalReport Run(ISegmenter segmenter, ISegmentationDataset dataset, string modelName, float threshold = 0.5f,
                                 IProgress<int>? progress = null, CancellationToken cancel = default)
    {
        if (threshold is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(threshold), $"--threshold must be in (0, 1), got {threshold}.");
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
        return new EvalReport(modelName, dataset.Description, threshold, scores.Count,
            SegmentationMetrics.Mean([.. scores.Select(s => s.Metrics)]), pooled.Metrics(), scores);
    }
}
