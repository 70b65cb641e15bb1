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

    public static RgbaImage Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such image file.", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0) throw new InvalidDataException($"{path}: empty file (0 bytes), not an image.");
        if (bytes[0] == (byte)'P' && bytes.Length > 1 && bytes[1] is (byte)'5' or (byte)'6' or (byte)'2' or (byte)'3')
            return Netpbm.Decode(bytes, path);
        return DecodeWithSkia(bytes, path);
    }

    static RgbaImage DecodeWithSkia(byte[] bytes, string path)
    {
        using var stream = new SKMemoryStream(bytes);
        using var codec = SKCodec.Create(stream, out var created);
        if (codec is null) throw new InvalidDataException($"{path}: not a readable image (corrupt or unsupported format: {created}).");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[info.BytesSize];
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        SKCodecResult result;
        try { result = codec.GetPixels(info, handle.AddrOfPinnedObject()); }
        finally { handle.Free(); }
        // IncompleteInput is what a truncated file gives: Skia fills the rest with zeros; we refuse it instead.
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{path}: could not decode image ({(result == SKCodecResult.IncompleteInput ? "truncated file" : result.ToString())}).");
        return Orient(new RgbaImage(info.Width, info.Height, pixels), codec.EncodedOrigin);
    }

    /// <summary>Applies an EXIF orientation so the pixels come out as the camera's viewer shows them.</summary>
    public static RgbaImage Orient(RgbaImage src, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft) return src;
        int w = src.Width, h = src.Height;
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var dst = swap ? new RgbaImage(h, w) : new RgbaImage(w, h);
        var s = MemoryMarshal.Cast<byte, uint>(src.Pixels.AsSpan());
        var d = MemoryMarshal.Cast<byte, uint>(dst.Pixels.AsSpan());
        for (int y = 0; y < dst.Height; y++)
            for (int x = 0; x < dst.Width; x++)
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
                d[y * dst.Width + x] = s[sy * w + sx];
            }
        return dst;
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

/// <summary>Binary and ASCII PPM/PGM (P2, P3, P5, P6), 8- or 16-bit: the format of LFW Part Labels masks.</summary>
static class Netpbm
{
    public static RgbaImage Decode(byte[] bytes, string path)
    {
        int pos = 2;
        char kind = (char)bytes[1];
        int width = Next(), height = Next(), maxVal = Next();
        if (width <= 0 || height <= 0 || maxVal is <= 0 or > 65535)
            throw new InvalidDataException($"{path}: bad PPM/PGM header ({width}x{height}, max {maxVal}).");
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
            int start = pos, value = 0;
            while (pos < bytes.Length && bytes[pos] is >= (byte)'0' and <= (byte)'9') value = value * 10 + (bytes[pos++] - '0');
            if (pos == start) throw new InvalidDataException($"{path}: truncated or corrupt PPM/PGM.");
            return value;
        }
    }
}
