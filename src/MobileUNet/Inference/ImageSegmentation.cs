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

    /// <summary>
    /// The 0 / 255 mask at the photo's size straight from the model's S x S probabilities, a row at a time
    /// (<see cref="RowResampler"/>): the bytes <c>MaskBytes(Probabilities(...))</c> gives, without the photo-sized
    /// float map in between (4 bytes a pixel, allocated and walked once more per photo).
    /// </summary>
    public static byte[] MaskBytes(ReadOnlySpan<float> probabilities, int size, int width, int height, float threshold)
    {
        if (probabilities.Length != size * size)
            throw new ArgumentException($"expected {size} x {size} probabilities, got {probabilities.Length}.", nameof(probabilities));
        if (width == size && height == size) return MaskBytes(probabilities, threshold);
        var mask = new byte[checked(width * height)];
        var rows = new RowResampler(size, size, width, height);
        for (int y = 0; y < height; y++)
            MaskDrawing.Mask(rows.Row(probabilities, y), threshold, mask.AsSpan(y * width, width), 1);
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
