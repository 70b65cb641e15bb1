using MobileUNet.Platform;
using SkiaSharp;
using MobileUNet.Data;
using MobileUNet.Inference;

namespace MobileUNet.Batch;

/// <summary>
/// A photo's outputs from the model's S x S probabilities: one pass over the photo's rows upsamples them
/// (<see cref="RowResampler"/>, the numbers of <see cref="FrameOps"/>) and draws every output asked for with
/// <see cref="MaskDrawing"/>, as video frames and the one-photo path are drawn, so no full-size float map ever
/// exists (48 MB at 12 MP). Then the encoders, straight from the buffers to temp files.
/// </summary>
internal sealed class PhotoComposer(PhotoOutputKind kinds, float threshold, CutoutFormat cutoutFormat)
{
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

        var rows = new RowResampler(size, size, w, h);
        long foreground = 0;
        int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
        for (int y = 0; y < h; y++)
        {
            var row = rows.Row(probabilities, y);
            int o = y * w;
            if (mask) MaskDrawing.Mask(row, threshold, maskSpan.Slice(o, w), 1);
            if (matte) MaskDrawing.Matte(row, matteSpan.Slice(o, w), 1);
            // The cutout takes the photo's colours before the overlay tints them.
            if (cutoutCopy) rgba.Slice(o * 4, w * 4).CopyTo(cutSpan.Slice(o * 4, w * 4));
            if (cutout) MaskDrawing.MatteAsAlpha(row, cutSpan.Slice(o * 4, w * 4));
            if (overlay) MaskDrawing.Overlay(row, threshold, rgba.Slice(o * 4, w * 4), 4);
            int rowFg = 0, rowMin = -1, rowMax = -1;
            for (int x = 0; x < w; x++)
            {
                if (row[x] < threshold) continue;
                rowFg++;
                if (rowMin < 0) rowMin = x;
                rowMax = x;
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

    /// <summary>Model-size RGBA from the photo (bilinear); the segmenter normalises it into its own input.</summary>
    public static void PreProcess(PhotoJob job, int size) =>
        FrameOps.ResizeBilinear(job.Rgba!.Span, job.Width, job.Height, 4, job.Small!, size, size);
}
