namespace MobileUNet.Data;

/// <summary>How composites are drawn: cutout height as a fraction of the image, rotation, how many cutouts.</summary>
public sealed record SynthOptions(double MinHeight = 0.45, double MaxHeight = 0.95, double MaxRotationDegrees = 20,
                                  double SecondCutoutChance = 0.25, ColourJitter? CutoutColour = null, ColourJitter? ImageColour = null)
{
    public static SynthOptions Default { get; } = new(CutoutColour: new ColourJitter(0.2, 0.2, 0.3), ImageColour: new ColourJitter(0.15, 0.15, 0.15));
}

/// <summary>
/// Compositing synthesis: RGBA cutouts pasted onto crops of background photos with random scale, position,
/// rotation, flip and colour jitter. The mask is the pasted alpha above one half, so it is exact for the pixels
/// the photo shows. <see cref="Generate(long, long)"/> is a pure function of (seed, index): an unbounded
/// training stream and a fixed validation set come from the same code under different streams.
/// </summary>
public sealed class CompositeSynthesizer
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

    public SegmentationSample Generate(long seed, long index, long stream = TrainStream)
    {
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
        return Augmenter.Apply(sample, Size, new AugmentOptions(1.0, 1.6, 0, true, ColourJitter.None), rng).Image;
    }

    void Paste(RgbaImage image, Mask mask, Random rng)
    {
        var cutout = cutouts[rng.Next(cutouts.Count)];
        var jittered = new RgbaImage(cutout.Width, cutout.Height, (byte[])cutout.Pixels.Clone());
        (Options.CutoutColour ?? ColourJitter.None).Apply(jittered, rng);
        double zoom = rng.Uniform(Options.MinHeight, Options.MaxHeight) * Size / cutout.Height;
        double angle = rng.Uniform(-Options.MaxRotationDegrees, Options.MaxRotationDegrees) * Math.PI / 180;
        bool flip = rng.Next(2) == 1;
        // Where the cutout's centre lands: anywhere that keeps most of it in the frame.
        double centreU = rng.Uniform(0.25, 0.75) * Size, centreV = rng.Uniform(0.3, 0.8) * Size;
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        Span<byte> fg = stackalloc byte[4];
        for (int v = 0; v < Size; v++)
            for (int u = 0; u < Size; u++)
            {
                double dx = (u + 0.5 - centreU) / zoom, dy = (v + 0.5 - centreV) / zoom;
                if (flip) dx = -dx;
                double sx = cutout.Width / 2.0 + cos * dx - sin * dy, sy = cutout.Height / 2.0 + sin * dx + cos * dy;
                if (sx < -1 || sy < -1 || sx > cutout.Width + 1 || sy > cutout.Height + 1) continue;
                Sampler.Bilinear(jittered, sx, sy, clampBorder: false, fg);
                if (fg[3] == 0) continue;
                int o = (v * Size + u) * 4;
                float a = fg[3] / 255f;
                for (int c = 0; c < 3; c++) image.Pixels[o + c] = (byte)(fg[c] * a + image.Pixels[o + c] * (1 - a) + 0.5f);
                if (fg[3] > 127) mask.Labels[v * Size + u] = Mask.Foreground;
            }
    }
}

/// <summary>A fixed, seeded set of composites (the validation set): sample i is always the same image.</summary>
public sealed class SynthValidationSet(CompositeSynthesizer synthesizer, int count, long seed) : ISegmentationDataset
{
    public string Description => $"{count} seeded composites (seed {seed}, {synthesizer.Size}px)";
    public int Count => count;
    public SegmentationSample Load(int index) => synthesizer.Generate(seed, index, CompositeSynthesizer.ValidationStream);
}
