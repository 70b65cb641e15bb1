namespace MobileUNet.Data;

/// <summary>How composites are drawn: cutout height as a fraction of the image, rotation, how many cutouts.</summary>
public sealed record SynthOptions(double MinHeight = 0.45, double MaxHeight = 0.95, double MaxRotationDegrees = 20,
                                  double SecondCutoutChance = 0.25, ColourJitter? CutoutColour = null, ColourJitter? ImageColour = null,
                                  Realism? Realism = null, bool AntialiasSources = false)
{
    /// <summary>The original composites: the seeded validation sets use these, so scores stay comparable across versions.</summary>
    public static SynthOptions Default { get; } = new(CutoutColour: new ColourJitter(0.2, 0.2, 0.3), ImageColour: new ColourJitter(0.15, 0.15, 0.15));

    /// <summary>Training composites that do not look pasted (see <see cref="Data.Realism"/>).</summary>
    public static SynthOptions Training { get; } = Default with { Realism = Realism.Default };
}

/// <summary>
/// What makes a composite look like a photo rather than a paste-up: people at every scale (small figures in a
/// street to a head-and-shoulders portrait cut by the frame), up to four at once, the cutout's colours pulled
/// toward the background's, its sharpness softened to the photo's, a feathered edge, then camera effects over
/// the whole frame. The mask stays the sharp alpha above one half.
/// </summary>
public sealed record Realism(double PortraitChance = 0.35, double MinPortraitHeight = 1.15, double MaxPortraitHeight = 2.3,
                             double MinFigureHeight = 0.2, double MaxFigureHeight = 1.0, double[]? PeopleWeights = null,
                             double MaxHarmonise = 0.6, double MaxCutoutBlur = 0.8, double MaxFeather = 0.9,
                             double BackgroundBlurChance = 0.25, double MaxBackgroundBlur = 2.0, Photometric? Camera = null)
{
    public static Realism Default { get; } = new(PeopleWeights: [0.55, 0.25, 0.12, 0.08], Camera: Photometric.RealPhotos);
}

/// <summary>
/// Compositing synthesis: RGBA cutouts pasted onto crops of background photos with random scale, position,
/// rotation, flip and colour jitter. The mask is the pasted alpha above one half, so it is exact for the pixels
/// the photo shows. <see cref="Generate(long, long)"/> is a pure function of (seed, index): an unbounded
/// training stream and a fixed validation set come from the same code under different streams.
/// </summary>
public sealed partial class CompositeSynthesizer
{
    public const long TrainStream = 1, ValidationStream = 2;
    readonly IReadOnlyList<RgbaImage> cutouts;
    readonly IReadOnlyList<RgbaImage> backgrounds;

    public CompositeSynthesizer(IReadOnlyList<RgbaImage> cutouts, IReadOnlyList<RgbaImage> backgrounds, int size, SynthOptions? options = null)
    {
        if (cutouts.Count == 0) throw new ArgumentException("no cutouts to composite.", nameof(cutouts));
        if (backgrounds.Count == 0) throw new ArgumentException("no backgrounds to composite onto.", nameof(backgrounds));
        if (size < 8) throw new ArgumentOutOfRangeException(nameof(size), $"composite size must be at least 8, got {size}.");
        this.cutouts = cutouts;
        this.backgrounds = backgrounds;
        Size = size;
        Options = options ?? SynthOptions.Default;
    }

    /// <summary>Loads every image of a cutout folder (must have alpha) and a background folder.</summary>
    public static CompositeSynthesizer FromFolders(string cutoutDir, string backgroundDir, int size, SynthOptions? options = null)
    {
        var cutouts = LoadFolder(cutoutDir, "cutouts");
        foreach (var (path, image) in cutouts)
            if (!HasTransparency(image)) throw new InvalidDataException($"{path}: cutout has no transparent pixels (needs an alpha channel).");
        var backgrounds = LoadFolder(backgroundDir, "backgrounds");
        return new CompositeSynthesizer([.. cutouts.Select(c => c.Image)], [.. backgrounds.Select(b => b.Image)], size, options);
    }

    static List<(string Path, RgbaImage Image)> LoadFolder(string dir, string what)
    {
        DatasetFiles.RequireDirectory(dir, what);
        var files = Directory.EnumerateFiles(dir).Where(ImageFile.IsImage).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new InvalidDataException($"{dir}: no {what} images (png, jpg, webp, bmp, ppm).");
        return [.. files.Select(f => (f, ImageFile.Read(f)))];
    }

    static bool HasTransparency(RgbaImage image)
    {
        for (int i = 3; i < image.Pixels.Length; i += 4) if (image.Pixels[i] < 128) return true;
        return false;
    }

    public int Size { get; }
    public SynthOptions Options { get; }

    /// <summary>The same cutouts and backgrounds drawn another way (training vs validation composites).</summary>
    public CompositeSynthesizer With(SynthOptions options) => new(cutouts, backgrounds, Size, options);

    public SegmentationSample Generate(long seed, long index, long stream = TrainStream)
    {
        if (Options.Realism is { } realism) return GenerateRealistic(seed, index, stream, realism);
        var rng = SampleRandom.For(seed, stream, index);
        var image = Background(rng);
        var mask = new Mask(Size, Size);
        int count = rng.NextDouble() < Options.SecondCutoutChance ? 2 : 1;
        for (int k = 0; k < count; k++) Paste(image, mask, rng);
        (Options.ImageColour ?? ColourJitter.None).Apply(image, rng);
        return new SegmentationSample(FormattableString.Invariant($"synth-{stream}-{index:D6}"), image, mask);
    }

    RgbaImage Background(Random rng)
    {
        var bg = backgrounds[rng.Next(backgrounds.Count)];
        var sample = new SegmentationSample("bg", bg, new Mask(bg.Width, bg.Height));
        return Augmenter.Apply(sample, Size, new AugmentOptions(1.0, 1.6, 0, true, ColourJitter.None, AntialiasSources: Options.AntialiasSources), rng).Image;
    }

    /// <summary>A random cutout, colour-jittered in a copy (the loaded cutouts are shared by every sample).</summary>
    RgbaImage JitteredCutout(Random rng)
    {
        var cutout = cutouts[rng.Next(cutouts.Count)];
        var jittered = new RgbaImage(cutout.Width, cutout.Height, (byte[])cutout.Pixels.Clone());
        (Options.CutoutColour ?? ColourJitter.None).Apply(jittered, rng);
        return jittered;
    }

    void Paste(RgbaImage image, Mask mask, Random rng)
    {
        var cutout = JitteredCutout(rng);
        double zoom = rng.Uniform(Options.MinHeight, Options.MaxHeight) * Size / cutout.Height;
        double angle = rng.Uniform(-Options.MaxRotationDegrees, Options.MaxRotationDegrees) * Math.PI / 180;
        bool flip = rng.Next(2) == 1;
        // Where the cutout's centre lands: anywhere that keeps most of it in the frame.
        double centreU = rng.Uniform(0.25, 0.75) * Size, centreV = rng.Uniform(0.3, 0.8) * Size;
        var placement = new CutoutPlacement(cutout, centreU, centreV, zoom, angle, flip);
        Span<byte> fg = stackalloc byte[4];
        for (int v = 0; v < Size; v++)
            for (int u = 0; u < Size; u++)
            {
                if (!placement.TrySource(u, v, out double sx, out double sy)) continue;
                Sampler.Bilinear(cutout, sx, sy, clampBorder: false, fg);
                if (fg[3] == 0) continue;
                int o = (v * Size + u) * 4;
                float a = fg[3] / 255f;
                for (int c = 0; c < 3; c++) image.Pixels[o + c] = (byte)(fg[c] * a + image.Pixels[o + c] * (1 - a) + 0.5f);
                if (fg[3] > 127) mask.Labels[v * Size + u] = Mask.Foreground;
            }
    }
}

public sealed partial class CompositeSynthesizer
{
    SegmentationSample GenerateRealistic(long seed, long index, long stream, Realism realism)
    {
        var rng = SampleRandom.For(seed, stream, index);
        var image = Background(rng);
        if (rng.NextDouble() < realism.BackgroundBlurChance) GaussianBlur.Rgb(image, rng.Uniform(0.5, realism.MaxBackgroundBlur));
        var mask = new Mask(Size, Size);
        int people = Pick(realism.PeopleWeights ?? [1], rng) + 1;
        for (int k = 0; k < people; k++) PasteRealistic(image, mask, realism, rng, portrait: rng.NextDouble() < realism.PortraitChance / people);
        (realism.Camera ?? Photometric.RealPhotos).Apply(image, rng);
        return new SegmentationSample(FormattableString.Invariant($"synth-{stream}-{index:D6}"), image, mask);
    }

    static int Pick(double[] weights, Random rng)
    {
        double u = rng.NextDouble() * weights.Sum();
        for (int i = 0; i < weights.Length; i++) if ((u -= weights[i]) < 0) return i;
        return weights.Length - 1;
    }

    void PasteRealistic(RgbaImage image, Mask mask, Realism realism, Random rng, bool portrait)
    {
        var cutout = JitteredCutout(rng);
        // Portraits: the figure is taller than the frame with its head near the top, so the frame cuts it off
        // at the chest or waist. Figures: log-uniform heights, so small people in a street are as common as large.
        double height = portrait
            ? rng.Uniform(realism.MinPortraitHeight, realism.MaxPortraitHeight)
            : Math.Exp(rng.Uniform(Math.Log(realism.MinFigureHeight), Math.Log(realism.MaxFigureHeight)));
        double zoom = height * Size / cutout.Height;
        double centreU = rng.Uniform(portrait ? 0.3 : 0.05, portrait ? 0.7 : 0.95) * Size;
        double centreV = portrait ? (rng.Uniform(-0.08, 0.2) + height / 2) * Size : rng.Uniform(0.25, 0.9) * Size;
        double angle = rng.Uniform(-Options.MaxRotationDegrees, Options.MaxRotationDegrees) * Math.PI / 180 * (portrait ? 0.5 : 1);
        bool flip = rng.Next(2) == 1;
        var placement = new CutoutPlacement(cutout, centreU, centreV, zoom, angle, flip);
        var (source, toX, toY) = SourceShrink.To(cutout, zoom, Options.AntialiasSources);

        // The cutout as float layers at output resolution: premultiplied colour and alpha.
        int n = Size * Size;
        var alpha = new float[n];
        var premul = new float[3 * n];
        Span<byte> fg = stackalloc byte[4];
        double sumR = 0, sumG = 0, sumB = 0, sumA = 0;
        for (int v = 0; v < Size; v++)
            for (int u = 0; u < Size; u++)
            {
                if (!placement.TrySource(u, v, out double sx, out double sy)) continue;
                Sampler.Bilinear(source, sx * toX, sy * toY, clampBorder: false, fg);
                if (fg[3] == 0) continue;
                int i = v * Size + u;
                float a = fg[3] / 255f;
                alpha[i] = a;
                premul[i] = fg[0] * a; premul[n + i] = fg[1] * a; premul[2 * n + i] = fg[2] * a;
                sumR += fg[0] * a; sumG += fg[1] * a; sumB += fg[2] * a; sumA += a;
                if (fg[3] > 127) mask.Labels[i] = Mask.Foreground;
            }
        if (sumA < 1) return;

        // Harmonise: pull the cutout's mean colour part of the way toward the background's (same lighting).
        double bgR = 0, bgG = 0, bgB = 0;
        for (int i = 0; i < n; i++) { bgR += image.Pixels[i * 4]; bgG += image.Pixels[i * 4 + 1]; bgB += image.Pixels[i * 4 + 2]; }
        double t = rng.Uniform(0, realism.MaxHarmonise);
        float shiftR = (float)(t * (bgR / n - sumR / sumA)), shiftG = (float)(t * (bgG / n - sumG / sumA)), shiftB = (float)(t * (bgB / n - sumB / sumA));

        // Match sharpness: blur the premultiplied layer (colour and alpha together), then feather the alpha edge.
        double blur = rng.Uniform(0, realism.MaxCutoutBlur);
        for (int c = 0; c < 3; c++)
        {
            var plane = premul.AsSpan(c * n, n).ToArray();
            GaussianBlur.Plane(plane, Size, Size, blur);
            plane.CopyTo(premul.AsSpan(c * n, n));
        }
        var blurredAlpha = (float[])alpha.Clone();
        GaussianBlur.Plane(blurredAlpha, Size, Size, blur);
        var feathered = (float[])blurredAlpha.Clone();
        GaussianBlur.Plane(feathered, Size, Size, rng.Uniform(0, realism.MaxFeather));
        var p = image.Pixels;
        for (int i = 0; i < n; i++)
        {
            float a = Math.Clamp(feathered[i], 0, 1), ab = blurredAlpha[i];
            if (a <= 0 || ab <= 1e-4f) continue;
            float r = premul[i] / ab + shiftR, g = premul[n + i] / ab + shiftG, b = premul[2 * n + i] / ab + shiftB;
            p[i * 4] = Photometric.ToByte(r * a + p[i * 4] * (1 - a));
            p[i * 4 + 1] = Photometric.ToByte(g * a + p[i * 4 + 1] * (1 - a));
            p[i * 4 + 2] = Photometric.ToByte(b * a + p[i * 4 + 2] * (1 - a));
        }
    }
}

/// <summary>Where a cutout lands: composite pixels map back to cutout points, or outside it.</summary>
readonly struct CutoutPlacement(RgbaImage cutout, double centreU, double centreV, double zoom, double angle, bool flip)
{
    readonly Similarity toCutout = new(cutout.Width / 2.0, cutout.Height / 2.0, zoom, angle, flip, centreU, centreV);
    readonly int width = cutout.Width, height = cutout.Height;

    /// <summary>The cutout point output pixel (u, v) shows; false where it falls outside the cutout.</summary>
    public bool TrySource(int u, int v, out double sx, out double sy)
    {
        (sx, sy) = toCutout.Source(u, v);
        return !(sx < -1 || sy < -1 || sx > width + 1 || sy > height + 1);
    }
}

/// <summary>A fixed, seeded set of composites (the validation set): sample i is always the same image.</summary>
public sealed class SynthValidationSet(CompositeSynthesizer synthesizer, int count, long seed) : ISegmentationDataset
{
    public string Description => $"{count} seeded composites (seed {seed}, {synthesizer.Size}px)";
    public int Count => count;
    public SegmentationSample Load(int index) => synthesizer.Generate(seed, index, CompositeSynthesizer.ValidationStream);
}
