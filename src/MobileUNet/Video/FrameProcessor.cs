using MobileUNet.Inference;
using MobileUNet.Data;

namespace MobileUNet.Video;

/// <summary>
/// The per-frame work between decode and encode, one method per pipeline stage: where a video frame becomes the
/// model's input, and where the model's output becomes the output frame. Post-processing carries state across
/// frames (smoothing, flicker), so each method must see frames in order; the pipeline guarantees it.
/// </summary>
internal sealed class FrameProcessor
{
    readonly ISegmenter segmenter;
    readonly FrameComposer composer;
    readonly TemporalSmoother? smoother;
    readonly RowResampler rows;
    readonly int width, height, size;

    public FrameProcessor(ISegmenter segmenter, FrameComposer composer, int width, int height, double? smoothing, float? threshold = null)
    {
        this.segmenter = segmenter;
        this.composer = composer;
        this.width = width;
        this.height = height;
        size = segmenter.Spec.InputSize;
        rows = new RowResampler(size, size, width, height);
        smoother = smoothing is > 0 ? new TemporalSmoother(size * size, smoothing.Value) : null;
        // Unless given, the threshold is the one the model records.
        float t = threshold ?? segmenter.Threshold;
        RawFlicker = new FlickerMeter(size * size, t);
        SmoothedFlicker = smoother is null ? null : new FlickerMeter(size * size, t);
    }

    public int InputSize => size;

    /// <summary>Flicker of the model's own masks (measured at the model's S x S).</summary>
    public FlickerMeter RawFlicker { get; }

    /// <summary>Flicker of the smoothed masks, when smoothing is on.</summary>
    public FlickerMeter? SmoothedFlicker { get; }

    public VideoFrame CreateFrame() => new(width, height, size);

    public void PreProcess(VideoFrame f) => FrameOps.ResizeBilinear(f.Rgb, width, height, 3, f.Small, size, size);

    /// <summary>
    /// Normalising happens here, not in <see cref="PreProcess"/>: the segmenter writes it into its one input
    /// buffer, which only the inference stage may touch while pre-processing works on the next frame.
    /// </summary>
    public void Infer(VideoFrame f) => segmenter.Segment(f.Small, 3, f.Probabilities);

    public void PostProcess(VideoFrame f)
    {
        RawFlicker.Add(f.Probabilities);
        var mask = f.Probabilities;
        if (smoother is not null)
        {
            smoother.Apply(f.Probabilities, f.Smoothed);
            SmoothedFlicker!.Add(f.Smoothed);
            mask = f.Smoothed;
        }
        composer.Compose(f.Rgb, mask, rows);
    }
}
