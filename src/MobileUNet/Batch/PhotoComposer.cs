using System.Buffers;
using MobileUNet.Platform;
using SkiaSharp;
using MobileUNet.Data;

namespace MobileUNet.Batch;

/// <summary>
/// Where the model's S x S probabilities become a photo's outputs: one pass over the photo's rows upsamples them
/// (bilinear, half-pixel centres, as <see cref="FrameOps"/>) and writes every plane asked for, so no
/// full-size float map ever exists (48 MB at 12 MP). Then the encoders, straight from the buffers to temp files.
/// </summary>
internal sealed class PhotoComposer(PhotoOutputKind kinds, float threshold, CutoutFormat cutoutFormat)
{
    // The tint and strength of the previous predict's overlay, so outputs stay comparable.
    const byte TintR = 255, TintG = 40, TintB = 160;
    const int Strength256 = 141; // 0.55 in 1/256ths: a fixed-point blend, about twice as fast as float here

    /// <summary>
    /// zlib level 3 (Skia's default is 6): on 640x480 overlays it encoded about 2x faster for files a few percent
    /// larger; PNG stays lossless, so the pixels are the same.
    /// </summary>
    public const int PngZlibLevel = 3;

    public PhotoOutputKind Kinds => kinds;

    /// <summary>Bytes per photo pixel a job holds at its peak: RGBA plus the planes asked for (and encoder slack).</summary>
    public int BytesPerPixel =>
        4 + (kinds.HasFlag(PhotoOutputKind.Mask) ? 1 : 0)
          + (kinds.HasFlag(PhotoOutputKind.Matte) ? 1 : 0)
          + (kinds.HasFlag(PhotoOutputKind.Cutout) && kinds.HasFlag(PhotoOutputKind.Overlay) ? 4 : 0)
          + 1;

    public void Compose(PhotoJob job, int size)
    {
        int w = job.Width, h = job.Height;
        long n = (long)w * h;
        bool mask = kinds.HasFlag(PhotoOutputKind.Mask), matte = kinds.HasFlag(PhotoOutputKind.Matte);
        bool overlay = kinds.HasFlag(PhotoOutputKind.Overlay), cutout = kinds.HasFlag(PhotoOutputKind.Cutout);
        // The cutout keeps the photo's own colours: in place when no overlay tints them, else in a copy.
        bool cutoutCopy = cutout && overlay;
        if (mask) job.Mask = new NativeBuffer(n);
        if (matte) job.Matte = new NativeBuffer(n);
        if (cutoutCopy) job.Cutout = new NativeBuffer(n * 4);
        var rgba = job.Rgba!.Span;
        var maskSpan = mask ? job.Mask!.Span : default;
        var matteSpan = matte ? job.Matte!.Span : default;
        var cutSpan = cutoutCopy ? job.Cutout!.Span : cutout ? rgba : default;
        var probabilities = job.Probabilities.AsSpan(0, size * size);

        var x0s = ArrayPool<int>.Shared.Rent(w);
        var x1s = ArrayPool<int>.Shared.Rent(w);
        var fxs = ArrayPool<float>.Shared.Rent(w);
        var row = ArrayPool<float>.Shared.Rent(w);
        try
        {
            float sx = (float)size / w, sy = (float)size / h;
            for (int x = 0; x < w; x++) Sample(x, sx, size, out x0s[x], out x1s[x], out fxs[x]);
            long foreground = 0;
            int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
            for (int y = 0; y < h; y++)
            {
                Sample(y, sy, size, out int y0, out int y1, out float fy);
                var r0 = probabilities.Slice(y0 * size, size);
                var r1 = probabilities.Slice(y1 * size, size);
                for (int x = 0; x < w; x++)
                {
                    int a0 = x0s[x], a1 = x1s[x];
                    float left = r0[a0] + (r1[a0] - r0[a0]) * fy;
                    float right = r0[a1] + (r1[a1] - r0[a1]) * fy;
                    row[x] = left + (right - left) * fxs[x];
                }
                int rowFg = 0, rowMin = int.MaxValue, rowMax = -1;
                long o = (long)y * w;
                for (int x = 0; x < w; x++)
                {
                    float p = row[x];
                    bool fg = p >= threshold;
                    if (fg) { rowFg++; if (rowMin == int.MaxValue) rowMin = x; rowMax = x; }
                    int i = (int)(o + x), q = i * 4;
                    if (mask) maskSpan[i] = fg ? (byte)255 : (byte)0;
                    if (matte || cutout)
                    {
                        byte alpha = (byte)(Math.Clamp(p, 0f, 1f) * 255f + 0.5f);
                        if (matte) matteSpan[i] = alpha;
                        if (cutoutCopy) { cutSpan[q] = rgba[q]; cutSpan[q + 1] = rgba[q + 1]; cutSpan[q + 2] = rgba[q + 2]; }
                        if (cutout) cutSpan[q + 3] = alpha;
                    }
                    if (overlay)
                    {
                        if (fg)
                        {
                            rgba[q] = (byte)(rgba[q] + (((TintR - rgba[q]) * Strength256 + 128) >> 8));
                            rgba[q + 1] = (byte)(rgba[q + 1] + (((TintG - rgba[q + 1]) * Strength256 + 128) >> 8));
                            rgba[q + 2] = (byte)(rgba[q + 2] + (((TintB - rgba[q + 2]) * Strength256 + 128) >> 8));
                        }
                        rgba[q + 3] = 255;
                    }
                }
                if (rowFg > 0)
                {
                    foreground += rowFg;
                    minX = Math.Min(minX, rowMin);
                    maxX = Math.Max(maxX, rowMax);
                    if (minY == int.MaxValue) minY = y;
                    maxY = y;
                }
            }
            job.ForegroundFraction = (double)foreground / n;
            job.Box = foreground > 0 ? (minX, minY, maxX - minX + 1, maxY - minY + 1) : null;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(x0s);
            ArrayPool<int>.Shared.Return(x1s);
            ArrayPool<float>.Shared.Return(fxs);
            ArrayPool<float>.Shared.Return(row);
        }
    }

    /// <summary>Writes every output of the photo, each atomically; returns kind name -&gt; path relative to <paramref name="outDir"/>.</summary>
    public Dictionary<string, string> Write(PhotoJob job, string outDir, float thresholdForJson)
    {
        var written = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kind in PhotoOutputs.Each(kinds))
        {
            var relative = PhotoOutputs.RelativePath(job.Input.Key, kind, cutoutFormat);
            var path = Path.Combine(outDir, relative);
            switch (kind)
            {
                case PhotoOutputKind.Mask: Png(path, job.Mask!, job.Width, job.Height, SKColorType.Gray8, SKAlphaType.Opaque); break;
                case PhotoOutputKind.Matte: Png(path, job.Matte!, job.Width, job.Height, SKColorType.Gray8, SKAlphaType.Opaque); break;
                // Opaque RGBA encodes as an RGB PNG: the overlay has no transparency to store.
                case PhotoOutputKind.Overlay: Png(path, job.Rgba!, job.Width, job.Height, SKColorType.Rgba8888, SKAlphaType.Opaque); break;
                case PhotoOutputKind.Cutout:
                    var buffer = job.Cutout ?? job.Rgba!;
                    if (cutoutFormat == CutoutFormat.Webp) Webp(path, buffer, job.Width, job.Height);
                    else Png(path, buffer, job.Width, job.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                    break;
                case PhotoOutputKind.Json:
                    var box = job.Box is { } b ? new { x = b.X, y = b.Y, width = b.Width, height = b.Height } : null;
                    var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
                    {
                        input = job.Input.Path,
                        width = job.Width,
                        height = job.Height,
                        threshold = thresholdForJson,
                        foregroundFraction = job.ForegroundFraction,
                        box,
                    }, BatchManifest.Json);
                    AtomicFile.WriteAllBytes(path, json);
                    break;
            }
            written[PhotoOutputs.Name(kind)] = relative;
        }
        return written;
    }

    static void Png(string path, NativeBuffer pixels, int w, int h, SKColorType color, SKAlphaType alpha)
    {
        var info = new SKImageInfo(w, h, color, alpha);
        using var pixmap = new SKPixmap(info, pixels.Pointer, info.RowBytes);
        var options = new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, PngZlibLevel);
        AtomicFile.Write(path, s =>
        {
            if (!pixmap.Encode(s, options)) throw new IOException($"{path}: PNG encoding failed.");
        });
    }

    static void Webp(string path, NativeBuffer pixels, int w, int h)
    {
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var pixmap = new SKPixmap(info, pixels.Pointer, info.RowBytes);
        var options = new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 75);
        AtomicFile.Write(path, s =>
        {
            if (!pixmap.Encode(s, options)) throw new IOException($"{path}: WebP encoding failed.");
        });
    }

    static void Sample(int index, float scale, int size, out int i0, out int i1, out float frac)
    {
        float pos = Math.Max((index + 0.5f) * scale - 0.5f, 0f);
        i0 = Math.Min((int)pos, size - 1);
        i1 = Math.Min(i0 + 1, size - 1);
        frac = pos - i0;
    }

    /// <summary>Model-size RGBA from the photo (bilinear); the segmenter normalises it into its own input.</summary>
    public static void PreProcess(PhotoJob job, int size) =>
        FrameOps.ResizeBilinear(job.Rgba!.Span, job.Width, job.Height, 4, job.Small!, size, size);
}
