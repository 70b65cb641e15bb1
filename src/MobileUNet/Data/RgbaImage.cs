namespace MobileUNet.Data;

/// <summary>An decoded image: interleaved 8-bit RGBA (straight alpha), row-major, the one pixel format every
/// dataset, augmentation and pre-processing step shares.</summary>
public sealed class RgbaImage
{
    public RgbaImage(int width, int height, byte[]? pixels = null)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"image size must be positive, got {width}x{height}.");
        Width = width;
        Height = height;
        long bytes = (long)width * height * 4;
        if (bytes > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(width), $"{width}x{height} RGBA ({bytes:N0} bytes) is larger than one buffer can hold.");
        Pixels = pixels ?? new byte[bytes];
        if (Pixels.Length != bytes) throw new ArgumentException($"expected {bytes} bytes for {width}x{height} RGBA, got {Pixels.Length}.", nameof(pixels));
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    /// <summary>Bilinear resize (half-pixel centres, as the model's own resize).</summary>
    public RgbaImage Resize(int width, int height)
    {
        var result = new RgbaImage(width, height);
        FrameOps.ResizeBilinear(Pixels, Width, Height, 4, result.Pixels, width, height);
        return result;
    }

    /// <summary>
    /// Each <paramref name="factor"/> x <paramref name="factor"/> block averaged into one pixel (a box filter, so
    /// no detail aliases), colours weighted by alpha so transparent pixels do not darken a cutout's edge; partial
    /// blocks at the right and bottom average the pixels they have. Pixel i covers source [i*f, (i+1)*f).
    /// </summary>
    public RgbaImage BoxReduce(int factor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        int w = (Width + factor - 1) / factor, h = (Height + factor - 1) / factor;
        var result = new RgbaImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                long r = 0, g = 0, b = 0, a = 0;
                int count = 0;
                for (int sy = y * factor; sy < Math.Min(Height, (y + 1) * factor); sy++)
                    for (int sx = x * factor; sx < Math.Min(Width, (x + 1) * factor); sx++)
                    {
                        int o = (sy * Width + sx) * 4;
                        int alpha = Pixels[o + 3];
                        r += Pixels[o] * alpha; g += Pixels[o + 1] * alpha; b += Pixels[o + 2] * alpha; a += alpha;
                        count++;
                    }
                int d = (y * w + x) * 4;
                if (a > 0)
                {
                    result.Pixels[d] = (byte)((r + a / 2) / a);
                    result.Pixels[d + 1] = (byte)((g + a / 2) / a);
                    result.Pixels[d + 2] = (byte)((b + a / 2) / a);
                }
                result.Pixels[d + 3] = (byte)((a + count / 2) / count);
            }
        return result;
    }
}

/// <summary>
/// Per-pixel labels for binary segmentation: 0 background, 1 foreground, 255 ignored (not scored, no loss).
/// A teacher's mask may also carry <see cref="Soft"/>: its foreground probability x 255 per pixel, which
/// training uses as the target (so the student learns the teacher's uncertainty at edges) while the labels,
/// thresholded, still score it.
/// </summary>
public sealed class Mask
{
    public const byte Background = 0;
    public const byte Foreground = 1;
    public const byte Ignore = 255;

    public Mask(int width, int height, byte[]? labels = null, byte[]? soft = null)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"mask size must be positive, got {width}x{height}.");
        Width = width;
        Height = height;
        long count = (long)width * height;
        if (count > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(width), $"a {width}x{height} mask is larger than one buffer can hold.");
        Labels = labels ?? new byte[count];
        if (Labels.Length != count) throw new ArgumentException($"expected {count} labels for {width}x{height}, got {Labels.Length}.", nameof(labels));
        if (soft is not null && soft.Length != count) throw new ArgumentException($"expected {count} soft targets for {width}x{height}, got {soft.Length}.", nameof(soft));
        Soft = soft;
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Labels { get; }
    /// <summary>Foreground probability x 255 per pixel (a teacher's soft target), or null for hard labels.</summary>
    public byte[]? Soft { get; }

    /// <summary>The training target of pixel <paramref name="i"/>: the soft probability when there is one, else 0/1.</summary>
    public float Target(int i) => Soft is { } soft ? soft[i] / 255f : Labels[i] == Foreground ? 1f : 0f;

    /// <summary>Nearest-neighbour resize: labels are classes, never blended.</summary>
    public Mask ResizeNearest(int width, int height)
    {
        var result = new Mask(width, height, soft: Soft is null ? null : new byte[(long)width * height]);
        for (int y = 0; y < height; y++)
        {
            int sy = Math.Min((int)((y + 0.5) * Height / height), Height - 1);
            for (int x = 0; x < width; x++)
            {
                int sx = Math.Min((int)((x + 0.5) * Width / width), Width - 1);
                result.CopyPixel(y * width + x, this, sy * Width + sx);
            }
        }
        return result;
    }

    /// <summary>Copies pixel <paramref name="from"/> of <paramref name="source"/> (label and soft target) to pixel <paramref name="to"/>.</summary>
    public void CopyPixel(int to, Mask source, int from)
    {
        Labels[to] = source.Labels[from];
        if (Soft is { } soft && source.Soft is { } sourceSoft) soft[to] = sourceSoft[from];
    }
}

/// <summary>One training or evaluation example: a photo and its mask of the same size.</summary>
public sealed record SegmentationSample(string Name, RgbaImage Image, Mask Mask)
{
    public static SegmentationSample Create(string name, RgbaImage image, Mask mask, string? maskPath = null) =>
        image.Width == mask.Width && image.Height == mask.Height
            ? new SegmentationSample(name, image, mask)
            : throw new InvalidDataException($"{maskPath ?? name}: mask is {mask.Width}x{mask.Height} but its image is {image.Width}x{image.Height}.");
}
