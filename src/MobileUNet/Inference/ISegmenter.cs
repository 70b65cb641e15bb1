using MobileUNet.Model;
using MobileUNet.Data;

namespace MobileUNet.Inference;

/// <summary>
/// One loaded model that turns a pre-processed image into foreground probabilities. Implementations own their
/// runtime session and buffers, are created once, and allocate nothing per <see cref="Run"/> call.
/// </summary>
public interface ISegmenter : IDisposable
{
    ModelSpec Spec { get; }

    /// <summary>The foreground threshold used when a model records none.</summary>
    const float DefaultThreshold = 0.5f;

    /// <summary>Foreground when probability &gt;= this: the threshold the model records (ONNX metadata), else 0.5.</summary>
    float Threshold => DefaultThreshold;

    /// <summary>
    /// The normalisation the model was trained with (recorded with it). <see cref="Segment"/> applies it; callers
    /// need it only to report it, or to make inputs for <see cref="Run"/> by hand.
    /// </summary>
    Normalization Normalization { get; }

    /// <summary>
    /// <paramref name="pixels"/>: one image already at the model's S x S, interleaved 8-bit RGB
    /// (<paramref name="channels"/> 3) or RGBA (4, alpha ignored). They are normalised straight into the
    /// segmenter's own input buffer (one pass, no float copy on the caller's side), then run.
    /// <paramref name="probabilities"/>: receives S x S foreground probabilities in [0, 1], row-major.
    /// </summary>
    void Segment(ReadOnlySpan<byte> pixels, int channels, Span<float> probabilities);

    /// <summary>
    /// <paramref name="count"/> images of S x S pixels back to back (see <see cref="Segment"/>) to their
    /// probabilities ([count, S, S]), in one model call where the backend can batch.
    /// </summary>
    void SegmentBatch(ReadOnlySpan<byte> pixels, int channels, int count, Span<float> probabilities)
    {
        int plane = Spec.InputSize * Spec.InputSize;
        for (int i = 0; i < count; i++)
            Segment(pixels.Slice(i * channels * plane, channels * plane), channels, probabilities.Slice(i * plane, plane));
    }

    /// <summary>
    /// <paramref name="chw"/>: one image, 3 x S x S floats, planar, already normalised (calibration images,
    /// synthetic inputs, comparisons between backends). Images from pixels take <see cref="Segment"/>.
    /// <paramref name="probabilities"/>: receives S x S foreground probabilities in [0, 1], row-major.
    /// </summary>
    void Run(ReadOnlySpan<float> chw, Span<float> probabilities);

    /// <summary>The most images one <see cref="RunBatch"/> or <see cref="SegmentBatch"/> call takes (the model's batch dimension, when fixed).</summary>
    int MaxBatch => 1;

    /// <summary>
    /// <paramref name="count"/> images back to back in <paramref name="chw"/> ([count, 3, S, S]) to their
    /// probabilities ([count, S, S]). Backends that can run a batch in one call override this; the default runs
    /// them one by one.
    /// </summary>
    void RunBatch(ReadOnlySpan<float> chw, int count, Span<float> probabilities)
    {
        int plane = Spec.InputSize * Spec.InputSize;
        for (int i = 0; i < count; i++) Run(chw.Slice(i * 3 * plane, 3 * plane), probabilities.Slice(i * plane, plane));
    }

    /// <summary>Refuses pixels that are not <paramref name="count"/> images of S x S x <paramref name="channels"/> bytes.</summary>
    internal static void CheckPixels(ReadOnlySpan<byte> pixels, int channels, int count, int size)
    {
        if (channels is not (3 or 4)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "pixels must have 3 or 4 channels");
        if (pixels.Length != (long)count * size * size * channels)
            throw new ArgumentException($"expected {count} image(s) of {size}x{size}x{channels} bytes ({(long)count * size * size * channels}), got {pixels.Length}; resize to the model's input size first.", nameof(pixels));
    }
}
