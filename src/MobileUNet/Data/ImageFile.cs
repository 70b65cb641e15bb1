using System.Runtime.InteropServices;
using MobileUNet.Platform;
using SkiaSharp;

namespace MobileUNet.Data;

/// <summary>
/// Reads image files into <see cref="RgbaImage"/> (png, jpg, webp, bmp, gif via SkiaSharp; ppm/pgm by a small
/// reader of our own, since Skia has none) and writes PNGs atomically. Grey, RGBA and 16-bit inputs all become
/// 8-bit RGBA; EXIF orientation is applied so pixels are upright. Every failure names the file.
/// </summary>
public static class ImageFile
{
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".pgm", ".pnm"];

    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    public static RgbaImage Read(string path, ImageLimits? limits = null)
    {
        limits ??= ImageLimits.Default;
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder, not an image file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such image file.", path);
        long length = new FileInfo(path).Length;
        if (length > limits.MaxFileBytes)
            throw new ImageTooLargeException($"{path}: file is {length:N0} bytes, over the {limits.MaxFileBytes:N0}-byte limit for an image.");
        return Decode(File.ReadAllBytes(path), path, limits);
    }

    /// <summary>
    /// Decodes an encoded image held in memory (<paramref name="name"/> names it in errors). The pixel count is
    /// checked against <paramref name="limits"/> from the header alone, before any pixel buffer exists: a few KB
    /// of PNG can claim 65536 x 16384 pixels (a decompression bomb).
    /// </summary>
    public static RgbaImage Decode(byte[] bytes, string name, ImageLimits? limits = null) =>
        Decode(bytes, name, limits ?? ImageLimits.Default, minSide: 0).Pixels;

    /// <summary>
    /// Decodes for a model that only needs <paramref name="minSide"/> pixels a side: a JPEG is decoded at the smallest
    /// eighth of its size (libjpeg's DCT scaling, 1/8 ... 8/8) that keeps both sides at least that long (a 640x480
    /// photo with <paramref name="minSide"/> 128 costs a 240x180 decode); other formats, and 0, decode whole. Limits
    /// and errors as <see cref="Decode(byte[], string, ImageLimits?)"/>; the photo's own upright size comes back
    /// beside the pixels, for answers at that size.
    /// </summary>
    public static ReducedImage DecodeAtLeast(byte[] bytes, string name, int minSide, ImageLimits? limits = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minSide);
        return Decode(bytes, name, limits ?? ImageLimits.Default, minSide);
    }

    static ReducedImage Decode(byte[] bytes, string name, ImageLimits limits, int minSide)
    {
        if (bytes.Length == 0) throw new InvalidDataException($"{name}: empty file (0 bytes), not an image.");
        if (bytes.Length > limits.MaxFileBytes)
            throw new ImageTooLargeException($"{name}: {bytes.Length:N0} bytes, over the {limits.MaxFileBytes:N0}-byte limit for an image.");
        if (bytes[0] == (byte)'P' && bytes.Length > 1 && bytes[1] is (byte)'5' or (byte)'6' or (byte)'2' or (byte)'3')
            return Whole(Netpbm.Decode(bytes, name, limits));
        if (IsoMediaBrand(bytes) is { } brand)
            throw new InvalidDataException($"{name}: {brand} image (HEIF/AVIF container), a format this build cannot decode; convert it to JPEG or PNG first.");
        return DecodeWithSkia(bytes, name, limits, minSide);
    }

    static ReducedImage Whole(RgbaImage image) => new(image, image.Width, image.Height);

    /// <summary>Phones save HEIC (and some AVIF): ISO media files whose first box is <c>ftyp</c> with an image brand.</summary>
    internal static string? IsoMediaBrand(byte[] bytes)
    {
        if (bytes.Length < 12 || bytes[4] != 'f' || bytes[5] != 't' || bytes[6] != 'y' || bytes[7] != 'p') return null;
        var brand = System.Text.Encoding.ASCII.GetString(bytes, 8, 4);
        return brand switch
        {
            "heic" or "heix" or "heim" or "heis" or "hevc" or "hevx" or "mif1" or "msf1" => "HEIC",
            "avif" or "avis" => "AVIF",
            _ => null,
        };
    }

    static ReducedImage DecodeWithSkia(byte[] bytes, string path, ImageLimits limits, int minSide)
    {
        using var stream = new SKMemoryStream(bytes);
        using var codec = SKCodec.Create(stream, out var created);
        if (codec is null) throw new InvalidDataException($"{path}: not a readable image (corrupt or unsupported format: {created}).");
        limits.Check(codec.Info.Width, codec.Info.Height, path);
        var size = codec.Info.Size;
        if (minSide > 0 && codec.EncodedFormat == SKEncodedImageFormat.Jpeg)
            for (int eighths = 1; eighths < 8; eighths++)
            {
                var scaled = codec.GetScaledDimensions(eighths / 8f);
                if (Math.Min(scaled.Width, scaled.Height) < minSide) continue;
                if (scaled.Width < size.Width) size = scaled;
                break;
            }
        var pixels = Orient(DecodePixels(codec, size, path), codec.EncodedOrigin);
        bool swap = SwapsAxes(codec.EncodedOrigin);
        return new ReducedImage(pixels, swap ? codec.Info.Height : codec.Info.Width, swap ? codec.Info.Width : codec.Info.Height);
    }

    /// <summary>The codec's pixels at <paramref name="size"/> (its own, or a scale it supports), RGBA as stored (not yet upright).</summary>
    static RgbaImage DecodePixels(SKCodec codec, SKSizeI size, string path)
    {
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        // 64-bit arithmetic: SKImageInfo.BytesSize is an int and wraps (65536 x 16384 x 4 = 0), which once sized a
        // buffer that the codec then overran. The limit above keeps this well inside an array's reach.
        var pixels = new byte[checked((int)((long)info.Width * info.Height * 4))];
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        SKCodecResult result;
        try { result = codec.GetPixels(info, handle.AddrOfPinnedObject()); }
        finally { handle.Free(); }
        // IncompleteInput is what a truncated file gives: Skia fills the rest with zeros; we refuse it instead.
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{path}: could not decode image ({(result == SKCodecResult.IncompleteInput ? "truncated file" : result.ToString())}).");
        return new RgbaImage(info.Width, info.Height, pixels);
    }

    /// <summary>Applies an EXIF orientation so the pixels come out as the camera's viewer shows them.</summary>
    public static RgbaImage Orient(RgbaImage src, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft) return src;
        int w = src.Width, h = src.Height;
        bool swap = SwapsAxes(origin);
        var dst = swap ? new RgbaImage(h, w) : new RgbaImage(w, h);
        Orient(src.Pixels, w, h, dst.Pixels, origin);
        return dst;
    }

    /// <summary>Whether the EXIF orientation turns the picture a quarter: the upright width is the stored height.</summary>
    static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>
    /// <see cref="Orient(RgbaImage, SKEncodedOrigin)"/> between caller-owned RGBA buffers: <paramref name="src"/> is
    /// <paramref name="w"/> x <paramref name="h"/> as stored, <paramref name="dst"/> the upright result (h x w when the
    /// origin swaps the axes).
    /// </summary>
    internal static void Orient(ReadOnlySpan<byte> src, int w, int h, Span<byte> dst, SKEncodedOrigin origin)
    {
        bool swap = SwapsAxes(origin);
        int dstWidth = swap ? h : w, dstHeight = swap ? w : h;
        var s = MemoryMarshal.Cast<byte, uint>(src);
        var d = MemoryMarshal.Cast<byte, uint>(dst);
        for (int y = 0; y < dstHeight; y++)
            for (int x = 0; x < dstWidth; x++)
            {
                (int sx, int sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                d[y * dstWidth + x] = s[sy * w + sx];
            }
    }

    public static void WritePng(string path, RgbaImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        WritePng(path, info, image.Pixels);
    }

    /// <summary>Writes one 8-bit grey plane (e.g. a mask as 0/255).</summary>
    public static void WriteGreyPng(string path, int width, int height, byte[] grey) =>
        WritePng(path, new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), grey);

    static void WritePng(string path, SKImageInfo info, byte[] pixels)
    {
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var encoded = pixmap.Encode(SKEncodedImageFormat.Png, 100)
                                ?? throw new InvalidOperationException($"{path}: PNG encoding failed.");
            AtomicFile.Write(path, s => encoded.SaveTo(s));
        }
        finally { handle.Free(); }
    }
}

/// <summary>Decoded pixels (possibly reduced, <see cref="ImageFile.DecodeAtLeast"/>) and the photo's own upright size.</summary>
public sealed record ReducedImage(RgbaImage Pixels, int Width, int Height);

/// <summary>Binary and ASCII PPM/PGM (P2, P3, P5, P6), 8- or 16-bit: the format of LFW Part Labels masks.</summary>
static class Netpbm
{
    public static RgbaImage Decode(byte[] bytes, string path, ImageLimits limits)
    {
        int pos = 2;
        char kind = (char)bytes[1];
        int width = Next(), height = Next(), maxVal = Next();
        if (width <= 0 || height <= 0 || maxVal is <= 0 or > 65535)
            throw new InvalidDataException($"{path}: bad PPM/PGM header ({width}x{height}, max {maxVal}).");
        limits.Check(width, height, path);
        int channels = kind is '6' or '3' ? 3 : 1;
        int bytesPer = maxVal > 255 ? 2 : 1;
        bool binary = kind is '5' or '6';
        if (binary) pos++; // exactly one whitespace byte separates the header from the raster
        long count = (long)width * height * channels;
        if (binary && bytes.Length - pos < count * bytesPer)
            throw new InvalidDataException($"{path}: truncated PPM/PGM (expected {count * bytesPer} pixel bytes, found {bytes.Length - pos}).");
        var image = new RgbaImage(width, height);
        var dst = image.Pixels;
        for (long i = 0; i < width * (long)height; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                int v = c < channels ? Sample() : dst[i * 4];
                dst[i * 4 + c] = (byte)v;
            }
            dst[i * 4 + 3] = 255;
        }
        return image;

        int Sample()
        {
            int raw = binary ? (bytesPer == 2 ? (bytes[pos++] << 8) | bytes[pos++] : bytes[pos++]) : Next();
            return maxVal == 255 ? raw : (int)Math.Round(raw * 255.0 / maxVal);
        }

        int Next()
        {
            while (pos < bytes.Length && (char.IsWhiteSpace((char)bytes[pos]) || bytes[pos] == '#'))
            {
                if (bytes[pos] == '#') while (pos < bytes.Length && bytes[pos] != '\n') pos++;
                else pos++;
            }
            int start = pos;
            long value = 0;
            while (pos < bytes.Length && bytes[pos] is >= (byte)'0' and <= (byte)'9')
            {
                value = value * 10 + (bytes[pos++] - '0');
                if (value > int.MaxValue) throw new InvalidDataException($"{path}: corrupt PPM/PGM (a number in it exceeds {int.MaxValue}).");
            }
            if (pos == start) throw new InvalidDataException($"{path}: truncated or corrupt PPM/PGM.");
            return (int)value;
        }
    }
}

/// <summary>
/// Bounds on an untrusted image, checked before decoding: the pixel count read from the header (default 100 MP,
/// a 12 MP phone photo is 12) and the encoded size.
/// </summary>
public sealed record ImageLimits(long MaxPixels = ImageLimits.DefaultMaxPixels, long MaxFileBytes = ImageLimits.DefaultMaxFileBytes)
{
    public const long DefaultMaxPixels = 100_000_000;
    public const long DefaultMaxFileBytes = 512L * 1024 * 1024;
    /// <summary>The largest RGBA buffer one .NET array holds (Array.MaxLength bytes / 4).</summary>
    public const long HardMaxPixels = 0x7FFFFFC7L / 4;

    public static ImageLimits Default { get; } = new();

    public static ImageLimits WithMaxPixels(long maxPixels) =>
        maxPixels is >= 1 and <= HardMaxPixels ? new ImageLimits(maxPixels)
            : throw new ArgumentOutOfRangeException(nameof(maxPixels), $"the pixel limit must be 1..{HardMaxPixels:N0}, got {maxPixels:N0}.");

    /// <summary>Throws <see cref="ImageTooLargeException"/> naming the file when width x height exceeds the limit.</summary>
    public void Check(int width, int height, string name)
    {
        long pixels = (long)width * height;
        if (width <= 0 || height <= 0) throw new InvalidDataException($"{name}: image header gives an empty size ({width}x{height}).");
        if (pixels > Math.Min(MaxPixels, HardMaxPixels))
            throw new ImageTooLargeException($"{name}: image is {width}x{height} ({pixels / 1e6:0.#} MP), over the {MaxPixels / 1e6:0.#} MP pixel limit (a larger limit must be asked for).");
    }
}

/// <summary>An image refused for its size before decoding (a service answers it with 413).</summary>
public sealed class ImageTooLargeException(string message) : IOException(message);
