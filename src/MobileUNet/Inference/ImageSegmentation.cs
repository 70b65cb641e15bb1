using MobileUNet.Data;

namespace MobileUNet.Inference;

/// <summary>
/// One photo in memory to its mask and overlay, the steps predict's streaming batch and the video pipeline take:
/// resize to the model's S x S (<see cref="FrameOps"/>, bilinear), segment (the segmenter normalises into its own
/// input), resize the probabilities back to the photo's size (the numbers the pipelines compute a row at a time,
/// <see cref="RowResampler"/>), draw them (<see cref="MaskDrawing"/>). Used by eval, teacher labels, serve and the
/// library's users, for any <see cref="ISegmenter"/> backend.
/// </summary>
public static class ImageSegmentation
{
    /// <summary>Foreground probabilities at the photo's own size, row-major.</summary>
    public static float[] Probabilities(ISegmenter segmenter, RgbaImage photo)
    {
        int s = segmenter.Spec.InputSize;
        var pixels = photo.Width == s && photo.Height == s ? photo.Pixels : photo.Resize(s, s).Pixels;
        var small = new float[s * s];
        segmenter.Segment(pixels, 4, small);
        if (photo.Width == s && photo.Height == s) return small;
        var full = new float[photo.Width * photo.Height];
        FrameOps.ResizeBilinear(small, s, s, full, photo.Width, photo.Height);
        return full;
    }

    /// <summary>
    /// 0 / 255 mask bytes (a grey PNG's plane). <paramref name="threshold"/>: the model's
    /// (<see cref="ISegmenter.Threshold"/>) unless the user gave one.
    /// </summary>
    public static byte[] MaskBytes(ReadOnlySpan<float> probabilities, float threshold)
    {
        var mask = new byte[probabilities.Length];
        MaskDrawing.Mask(probabilities, threshold, mask, 1);
        return mask;
    }

    /// <summary>The photo with foreground pixels tinted, opaque: the overlay predict and video draw (<see cref="MaskDrawing.Overlay"/>).</summary>
    public static RgbaImage Overlay(RgbaImage photo, ReadOnlySpan<float> probabilities, float threshold)
    {
        var result = new RgbaImage(photo.Width, photo.Height, (byte[])photo.Pixels.Clone());
        MaskDrawing.Overlay(probabilities, threshold, result.Pixels, 4);
        return result;
    }
}
