using MobileUNet.Data;

namespace MobileUNet.Inference;

/// <summary>
/// Where a photo of any size becomes a mask: resize to the model's S x S (bilinear), segment (the segmenter
/// normalises into its own input), resize the probabilities back to the photo's size. Shared by predict, eval and the demo, for
/// any <see cref="ISegmenter"/> backend.
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

    /// <summary>0 / 255 mask bytes (a grey PNG's plane).</summary>
    public static byte[] MaskBytes(ReadOnlySpan<float> probabilities, float threshold = 0.5f)
    {
        var mask = new byte[probabilities.Length];
        for (int i = 0; i < mask.Length; i++) mask[i] = probabilities[i] >= threshold ? (byte)255 : (byte)0;
        return mask;
    }

    /// <summary>The photo with foreground pixels tinted (alpha blend of <paramref name="tint"/>), opaque.</summary>
    public static RgbaImage Overlay(RgbaImage photo, ReadOnlySpan<float> probabilities, float threshold = 0.5f,
                                    (byte R, byte G, byte B)? tint = null, float strength = 0.55f)
    {
        var (tr, tg, tb) = tint ?? ((byte)255, (byte)40, (byte)160);
        var result = new RgbaImage(photo.Width, photo.Height, (byte[])photo.Pixels.Clone());
        var p = result.Pixels;
        for (int i = 0; i < probabilities.Length; i++)
        {
            int o = i * 4;
            if (probabilities[i] >= threshold)
            {
                p[o] = (byte)(p[o] * (1 - strength) + tr * strength);
                p[o + 1] = (byte)(p[o + 1] * (1 - strength) + tg * strength);
                p[o + 2] = (byte)(p[o + 2] * (1 - strength) + tb * strength);
            }
            p[o + 3] = 255;
        }
        return result;
    }
}
