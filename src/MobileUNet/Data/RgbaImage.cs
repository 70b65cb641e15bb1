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
        Inference.FrameOps.ResizeBilinear(Pixels, Width, Height, 4, result.Pixels, width, height);
        return result;
    }
}

/// <summary>Per-pixel labels for binary segmentation: 0 background, 1 foreground, 255 ignored (not scored, no loss).</summary>
public sealed class Mask
{
    public const byte Background = 0;
    public const byte Foreground = 1;
    public const byte Ignore = 255;

    public Mask(int width, int height, byte[]? labels = null)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"mask size must be positive, got {width}x{height}.");
        Width = width;
        Height = height;
        long count = (long)width * height;
        if (count > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(width), $"a {width}x{height} mask is larger than one buffer can hold.");
        Labels = labels ?? new byte[count];
        if (Labels.Length != count) throw new ArgumentException($"expected {count} labels for {width}x{height}, got {Labels.Length}.", nameof(labels));
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Labels { get; }

    /// <summary>Nearest-neighbour resize: labels are classes, never blended.</summary>
    public Mask ResizeNearest(int width, int height)
    {
        var result = new Mask(width, height);
        for (int y = 0; y < height; y++)
        {
            int sy = Math.Min((int)((y + 0.5) * Height / height), Height - 1);
            for (int x = 0; x < width; x++)
            {
                int sx = Math.Min((int)((x + 0.5) * Width / width), Width - 1);
                result.Labels[y * width + x] = Labels[sy * Width + sx];
            }
        }
        return result;
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
