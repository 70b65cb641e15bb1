namespace MobileUNet.Data;

/// <summary>Deterministic per-sample random generators: sample k of stream s under seed n is always the same,
/// so training repeats exactly and a resumed run regenerates the data the interrupted one would have seen.</summary>
internal static class SampleRandom
{
    public static Random For(long seed, long stream, long index)
    {
        ulong z = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)stream * 0xC2B2AE3D27D4EB4FUL ^ (ulong)index * 0x165667B19E3779F9UL;
        // SplitMix64 finaliser: neighbouring indices give unrelated seeds.
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return new Random((int)(z & 0x7FFFFFFF));
    }

    public static double Uniform(this Random rng, double min, double max) => min + (max - min) * rng.NextDouble();
}

/// <summary>Colour changes applied to the photo only (never the mask).</summary>
public sealed record ColourJitter(double Brightness = 0.25, double Contrast = 0.25, double Saturation = 0.3)
{
    public static ColourJitter None { get; } = new(0, 0, 0);

    public void Apply(RgbaImage image, Random rng)
    {
        float b = (float)rng.Uniform(1 - Brightness, 1 + Brightness);
        float c = (float)rng.Uniform(1 - Contrast, 1 + Contrast);
        float s = (float)rng.Uniform(1 - Saturation, 1 + Saturation);
        var p = image.Pixels;
        double sum = 0;
        for (int i = 0; i < p.Length; i += 4) sum += 0.299 * p[i] + 0.587 * p[i + 1] + 0.114 * p[i + 2];
        float mean = (float)(sum / (p.Length / 4)) * b;
        for (int i = 0; i < p.Length; i += 4)
        {
            float r = p[i] * b, g = p[i + 1] * b, bl = p[i + 2] * b;
            float grey = 0.299f * r + 0.587f * g + 0.114f * bl;
            r = grey + (r - grey) * s; g = grey + (g - grey) * s; bl = grey + (bl - grey) * s;
            p[i] = Clamp(mean + (r - mean) * c);
            p[i + 1] = Clamp(mean + (g - mean) * c);
            p[i + 2] = Clamp(mean + (bl - mean) * c);
        }
    }

    static byte Clamp(float v) => (byte)Math.Clamp(v + 0.5f, 0f, 255f);
}

/// <summary>
/// Geometric + colour augmentation for a photo and its mask: one random similarity transform (zoom, rotation,
/// horizontal flip, position of an S x S crop) maps each output pixel to a source point; the photo is sampled
/// there bilinearly and the mask by nearest neighbour, so both move identically. Borders are clamped.
/// </summary>
public sealed record AugmentOptions(double MinZoom = 1.0, double MaxZoom = 1.5, double MaxRotationDegrees = 15,
                                    bool HorizontalFlip = true, ColourJitter? Colour = null, Photometric? Camera = null,
                                    bool AntialiasSources = false)
{
    public static AugmentOptions Default { get; } = new(Colour: new ColourJitter());
    /// <summary>Real photos: a wider scale-crop (zooming out shows more context) and the camera effects.</summary>
    public static AugmentOptions RealPhotos { get; } = new(0.9, 1.6, 15, true, ColourJitter.None, Photometric.RealPhotos);
    /// <summary>Only resizes to S x S (evaluation).</summary>
    public static AugmentOptions None { get; } = new(1, 1, 0, false, ColourJitter.None);
}

public static class Augmenter
{
    public static SegmentationSample Apply(SegmentationSample sample, int size, AugmentOptions options, Random rng)
    {
        var src = sample.Image;
        double zoom = rng.Uniform(options.MinZoom, options.MaxZoom) * size / Math.Min(src.Width, src.Height);
        double angle = rng.Uniform(-options.MaxRotationDegrees, options.MaxRotationDegrees) * Math.PI / 180;
        bool flip = options.HorizontalFlip && rng.Next(2) == 1;
        double half = size / 2.0 / zoom;
        double cx = src.Width >= 2 * half ? rng.Uniform(half, src.Width - half) : src.Width / 2.0;
        double cy = src.Height >= 2 * half ? rng.Uniform(half, src.Height - half) : src.Height / 2.0;
        var transform = new Similarity(cx, cy, zoom, angle, flip, size / 2.0, size / 2.0);
        var (pixels, toX, toY) = SourceShrink.To(src, zoom, options.AntialiasSources);

        var image = new RgbaImage(size, size);
        var mask = new Mask(size, size, soft: sample.Mask.Soft is null ? null : new byte[size * size]);
        for (int v = 0; v < size; v++)
            for (int u = 0; u < size; u++)
            {
                var (sx, sy) = transform.Source(u, v);
                Sampler.Bilinear(pixels, sx * toX, sy * toY, clampBorder: true, image.Pixels.AsSpan((v * size + u) * 4, 4));
                int mx = Math.Clamp((int)Math.Floor(sx), 0, src.Width - 1), my = Math.Clamp((int)Math.Floor(sy), 0, src.Height - 1);
                mask.CopyPixel(v * size + u, sample.Mask, my * src.Width + mx);
            }
        (options.Colour ?? ColourJitter.None).Apply(image, rng);
        options.Camera?.Apply(image, rng);
        return new SegmentationSample(sample.Name, image, mask);
    }
}

/// <summary>
/// A source drawn at <c>zoom</c> output pixels per source pixel, shrunk to that scale first with
/// <see cref="RgbaImage.ResizeAntialiased"/> so that the bilinear sample which follows reads it at about 1:1: the
/// model then sees a photo's detail averaged, as an antialiased shrink shows it, not two-tap samples of every k-th
/// pixel. <c>toX</c> and <c>toY</c> map a source point onto the shrunk image (the sizes are rounded). Without
/// <c>antialias</c>, or drawn at its own size or larger, the source is sampled as it is.
/// </summary>
public static class SourceShrink
{
    public static (RgbaImage Image, double ToX, double ToY) To(RgbaImage source, double zoom, bool antialias)
    {
        if (!antialias || !(zoom < 1)) return (source, 1, 1);
        int w = Math.Max(1, (int)Math.Round(source.Width * zoom)), h = Math.Max(1, (int)Math.Round(source.Height * zoom));
        return (source.ResizeAntialiased(w, h), (double)w / source.Width, (double)h / source.Height);
    }
}

/// <summary>
/// One similarity transform read backwards: output pixel (u, v) maps, through the inverse of the flip, zoom and
/// rotation, to the source point it shows; the output point (pivotU, pivotV) shows the source point (centreX,
/// centreY). A photo's scale-crop pivots on the crop's centre, a pasted cutout on where its centre lands.
/// </summary>
readonly struct Similarity(double centreX, double centreY, double zoom, double angle, bool flip, double pivotU, double pivotV)
{
    readonly double cos = Math.Cos(angle), sin = Math.Sin(angle);

    public (double X, double Y) Source(int u, int v)
    {
        double dx = (u + 0.5 - pivotU) / zoom, dy = (v + 0.5 - pivotV) / zoom;
        if (flip) dx = -dx;
        return (centreX + cos * dx - sin * dy, centreY + sin * dx + cos * dy);
    }
}

static class Sampler
{
    /// <summary>Bilinear RGBA at continuous point (x, y) (pixel i covers [i, i+1)). Outside the image: clamped,
    /// or transparent when <paramref name="clampBorder"/> is false (cutouts). Colours are blended weighted by
    /// alpha so transparent pixels' colour never bleeds into edges.</summary>
    public static void Bilinear(RgbaImage src, double x, double y, bool clampBorder, Span<byte> rgba)
    {
        double fx = x - 0.5, fy = y - 0.5;
        int x0 = (int)Math.Floor(fx), y0 = (int)Math.Floor(fy);
        double ax = fx - x0, ay = fy - y0;
        double r = 0, g = 0, b = 0, a = 0;
        for (int j = 0; j < 2; j++)
            for (int i = 0; i < 2; i++)
            {
                double w = (i == 0 ? 1 - ax : ax) * (j == 0 ? 1 - ay : ay);
                if (w == 0) continue;
                int px = x0 + i, py = y0 + j;
                if (px < 0 || py < 0 || px >= src.Width || py >= src.Height)
                {
                    if (!clampBorder) continue;
                    px = Math.Clamp(px, 0, src.Width - 1);
                    py = Math.Clamp(py, 0, src.Height - 1);
                }
                int o = (py * src.Width + px) * 4;
                double wa = w * src.Pixels[o + 3];
                r += wa * src.Pixels[o]; g += wa * src.Pixels[o + 1]; b += wa * src.Pixels[o + 2]; a += wa;
            }
        if (a <= 0) { rgba.Clear(); return; }
        rgba[0] = (byte)Math.Min(255, r / a + 0.5);
        rgba[1] = (byte)Math.Min(255, g / a + 0.5);
        rgba[2] = (byte)Math.Min(255, b / a + 0.5);
        rgba[3] = (byte)Math.Min(255, a + 0.5);
    }
}
