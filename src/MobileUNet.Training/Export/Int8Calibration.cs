using MobileUNet.Data;

namespace MobileUNet.Export;

/// <summary>
/// Inputs that int8 calibration runs through the fp32 model to measure activation ranges: normalised images,
/// each 3 x S x S planar floats, from a folder of real images, or synthetic when there is none.
/// </summary>
public sealed record Int8Calibration(IReadOnlyList<float[]> Images, string Source)
{
    /// <summary>
    /// Up to <paramref name="count"/> images of a folder (sorted by name, so a calibration is repeatable),
    /// decoded by <see cref="ImageFile"/> (EXIF, PPM and the pixel limit like every other reader), resized to S x S with the inference path's own resize and normalised.
    /// </summary>
    public static Int8Calibration FromFolder(string dir, int size, Normalization normalization, int count)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such calibration folder.");
        var files = Directory.EnumerateFiles(dir)
            .Where(ImageFile.IsImage)
            .Order(StringComparer.Ordinal).Take(count).ToList();
        if (files.Count == 0) throw new InvalidDataException($"{dir}: no images (png, jpg, webp, bmp, ppm) to calibrate int8 with.");
        var images = new List<float[]>(files.Count);
        var resized = new byte[size * size * 4];
        foreach (var file in files)
        {
            var rgba = ImageFile.Read(file);
            FrameOps.ResizeBilinear(rgba.Pixels, rgba.Width, rgba.Height, 4, resized, size, size);
            var chw = new float[3 * size * size];
            normalization.ToChw(resized, 4, chw);
            images.Add(chw);
        }
        return new Int8Calibration(images, $"{dir} ({images.Count} images)");
    }

    /// <summary>
    /// What an int8 export calibrates on when it is given nothing else: 16 synthetic images, seed 1. Deterministic
    /// and needing no files, so untrained models (the speed study) quantise the same way on every machine.
    /// </summary>
    public static Int8Calibration Default(int size) => Synthetic(size, 16, seed: 1);

    /// <summary>Smooth random fields with a little noise: closer to photo statistics than white noise, for untrained speed work.</summary>
    public static Int8Calibration Synthetic(int size, int count, int seed) =>
        new(Enumerable.Range(0, count).Select(i => SyntheticImage(size, seed * 1000 + i)).ToList(), $"synthetic ({count} images, seed {seed})");

    public static float[] SyntheticImage(int size, int seed)
    {
        var chw = new float[3 * size * size];
        var random = new Random(seed);
        for (int c = 0; c < 3; c++)
        {
            double fx = 1 + random.NextDouble() * 4, fy = 1 + random.NextDouble() * 4, phase = random.NextDouble() * 6;
            double gain = 0.5 + random.NextDouble() * 1.5;
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                    chw[(c * size + y) * size + x] = (float)(gain * Math.Sin(fx * x / size * Math.PI + phase) * Math.Cos(fy * y / size * Math.PI)
                                                             + 0.1 * (random.NextDouble() - 0.5));
        }
        return chw;
    }
}
