namespace MobileUNet.Inference;

/// <summary>
/// How probabilities are drawn, for photos (predict, the one-photo path: RGBA) and video frames (RGB) alike: the
/// foreground rule (probability &gt;= threshold), the 0/255 mask, the soft matte and the one overlay tint. Each
/// works on a run of pixels (a row, or a whole picture) of 1 (a grey plane), 3 (RGB) or 4 (RGBA) channels, so every
/// path draws the very same pixels for the same probabilities.
/// </summary>
public static class MaskDrawing
{
    /// <summary>The overlay's colour: foreground pixels move <see cref="TintStrength"/> of the way towards it.</summary>
    public static (byte R, byte G, byte B) Tint { get; } = (255, 40, 160);

    public const float TintStrength = 0.55f;

    // 0.55 in 1/256ths, a fixed-point blend: about twice as fast as float lerps here, and the overlay is most of the
    // post-processing of a 640x480 frame.
    const int Strength256 = 141;

    /// <summary>The 0/255 mask, written to every channel of each pixel (a grey plane, or a grey RGB frame).</summary>
    public static void Mask(ReadOnlySpan<float> probabilities, float threshold, Span<byte> pixels, int channels)
    {
        if (channels == 1)
        {
            for (int i = 0; i < probabilities.Length; i++) pixels[i] = probabilities[i] >= threshold ? (byte)255 : (byte)0;
            return;
        }
        for (int i = 0, q = 0; i < probabilities.Length; i++, q += channels)
        {
            byte v = probabilities[i] >= threshold ? (byte)255 : (byte)0;
            for (int c = 0; c < channels; c++) pixels[q + c] = v;
        }
    }

    /// <summary>The soft matte (probability x 255), written to every channel of each pixel.</summary>
    public static void Matte(ReadOnlySpan<float> probabilities, Span<byte> pixels, int channels)
    {
        if (channels == 1)
        {
            for (int i = 0; i < probabilities.Length; i++) pixels[i] = Alpha(probabilities[i]);
            return;
        }
        for (int i = 0, q = 0; i < probabilities.Length; i++, q += channels)
        {
            byte v = Alpha(probabilities[i]);
            for (int c = 0; c < channels; c++) pixels[q + c] = v;
        }
    }

    /// <summary>The matte as the alpha of RGBA pixels, their colour kept: a cutout.</summary>
    public static void MatteAsAlpha(ReadOnlySpan<float> probabilities, Span<byte> rgba)
    {
        for (int i = 0, q = 3; i < probabilities.Length; i++, q += 4) rgba[q] = Alpha(probabilities[i]);
    }

    /// <summary>Probability to an 8-bit alpha (clamped, rounded).</summary>
    public static byte Alpha(float probability) => (byte)(Math.Clamp(probability, 0f, 1f) * 255f + 0.5f);

    /// <summary>
    /// The one overlay, in place: foreground pixels tinted (<see cref="Tint"/>, <see cref="TintStrength"/>),
    /// background kept; RGBA pixels come out opaque.
    /// </summary>
    public static void Overlay(ReadOnlySpan<float> probabilities, float threshold, Span<byte> pixels, int channels)
    {
        if (channels is not (3 or 4)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "an overlay needs RGB or RGBA pixels");
        var (r, g, b) = Tint;
        for (int i = 0, q = 0; i < probabilities.Length; i++, q += channels)
        {
            if (probabilities[i] >= threshold)
            {
                pixels[q] = (byte)(pixels[q] + (((r - pixels[q]) * Strength256 + 128) >> 8));
                pixels[q + 1] = (byte)(pixels[q + 1] + (((g - pixels[q + 1]) * Strength256 + 128) >> 8));
                pixels[q + 2] = (byte)(pixels[q + 2] + (((b - pixels[q + 2]) * Strength256 + 128) >> 8));
            }
            if (channels == 4) pixels[q + 3] = 255;
        }
    }
}
