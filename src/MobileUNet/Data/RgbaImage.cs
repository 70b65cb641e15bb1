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
    /// Resize with a triangle filter whose support widens with the scale when shrinking (as PIL's bilinear
    /// resize), so every source pixel contributes and fine detail averages out instead of aliasing the way
    /// two-tap samples of every k-th pixel do; half-pixel centres. Colours are weighted by alpha,
    /// so a cut-out's transparent pixels do not darken its edge.
    /// </summary>
    public RgbaImage ResizeAntialiased(int width, int height)
    {
        var premultiplied = new float[Pixels.Length];
        for (int i = 0; i < Pixels.Length; i += 4)
        {
            float a = Pixels[i + 3];
            premultiplied[i] = Pixels[i] * a; premultiplied[i + 1] = Pixels[i + 1] * a; premultiplied[i + 2] = Pixels[i + 2] * a;
            premultiplied[i + 3] = a;
        }
        var rows = TrianglePass(premultiplied, Width, Height, width, horizontal: true);
        var both = TrianglePass(rows, width, Height, height, horizontal: false);
        var result = new RgbaImage(width, height);
        for (int i = 0; i < both.Length; i += 4)
        {
            float a = both[i + 3];
            if (a > 0)
                for (int c = 0; c < 3; c++) result.Pixels[i + c] = (byte)Math.Clamp(both[i + c] / a + 0.5f, 0f, 255f);
            result.Pixels[i + 3] = (byte)Math.Clamp(a + 0.5f, 0f, 255f);
        }
        return result;
    }

    /// <summary>One separable pass of <see cref="ResizeAntialiased"/> along x (<paramref name="horizontal"/>) or y.</summary>
    static float[] TrianglePass(float[] pixels, int width, int height, int size, bool horizontal)
    {
        int srcLength = horizontal ? width : height, lines = horizontal ? height : width;
        int outWidth = horizontal ? size : width;
        var result = new float[(horizontal ? size * height : width * size) * 4];
        float scale = (float)srcLength / size, support = Math.Max(scale, 1f);
        var taps = new List<(int Index, float Weight)>();
        for (int o = 0; o < size; o++)
        {
            float centre = (o + 0.5f) * scale, total = 0;
            taps.Clear();
            // Taps outside the image are left out and the rest renormalised (as PIL does).
            for (int i = Math.Max(0, (int)MathF.Floor(centre - support)); i <= Math.Min(srcLength - 1, (int)MathF.Ceiling(centre + support)); i++)
            {
                float w = 1 - MathF.Abs(i + 0.5f - centre) / support;
                if (w > 0) { taps.Add((i, w)); total += w; }
            }
            // Normalised once per output position, not once per line and channel.
            for (int t = 0; t < taps.Count; t++) taps[t] = (taps[t].Index, taps[t].Weight / total);
            for (int line = 0; line < lines; line++)
            {
                int to = (horizontal ? line * outWidth + o : o * outWidth + line) * 4;
                foreach (var (i, w) in taps)
                {
                    int from = (horizontal ? line * width + i : i * width + line) * 4;
                    for (int c = 0; c < 4; c++) result[to + c] += w * pixels[from + c];
                }
            }
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
