using System.Buffers;
using MobileUNet.Data;
using SkiaSharp;

namespace MobileUNet.Batch;

/// <summary>
/// One photo on its way through the pipeline: its pixels (native, see <see cref="NativeBuffer"/>), the model's
/// input and output, the planes post-processing makes, and its share of the <see cref="MemoryBudget"/>.
/// Disposing frees everything and returns the budget.
/// </summary>
internal sealed class PhotoJob(PhotoInput input) : IDisposable
{
    MemoryBudget? budget;
    long reserved;

    public PhotoInput Input { get; } = input;
    public int Width { get; private set; }
    public int Height { get; private set; }
    public NativeBuffer? Rgba { get; private set; }
    public NativeBuffer? Mask { get; set; }
    public NativeBuffer? Matte { get; set; }
    public NativeBuffer? Cutout { get; set; }
    /// <summary>The photo at the model's S x S, RGBA (rented; may be longer than S x S x 4).</summary>
    public byte[]? Small { get; set; }
    public float[]? Probabilities { get; set; }
    public double ForegroundFraction { get; set; }
    public (int X, int Y, int Width, int Height)? Box { get; set; }
    public string? Error { get; set; }
    public double[] Milliseconds { get; } = new double[5];

    /// <summary>
    /// Reads and decodes the photo. The header is checked against <paramref name="limits"/> and the budget reserved
    /// (<paramref name="bytesPerPixel"/> for everything this photo will hold) before the pixel buffer exists.
    /// </summary>
    public void Decode(ImageLimits limits, MemoryBudget budget, int bytesPerPixel, CancellationToken cancel)
    {
        var path = Input.Path;
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder, not an image file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such image file.", path);
        long length = new FileInfo(path).Length;
        if (length > limits.MaxFileBytes)
            throw new ImageTooLargeException($"{path}: file is {length:N0} bytes, over the {limits.MaxFileBytes:N0}-byte limit for an image.");
        var bytes = File.ReadAllBytes(path);
        this.budget = budget;
        bool skia = bytes.Length > 0 && !(bytes[0] == (byte)'P' && bytes.Length > 1 && bytes[1] is (byte)'5' or (byte)'6' or (byte)'2' or (byte)'3')
                    && ImageFile.IsoMediaBrand(bytes) is null;
        if (!skia)
        {
            // Netpbm, empty and HEIF files: the library's own reader (and its messages); small, rare formats here.
            var image = ImageFile.Decode(bytes, path, limits);
            Reserve((long)image.Width * image.Height * bytesPerPixel, cancel);
            Allocate(image.Width, image.Height);
            image.Pixels.CopyTo(Rgba!.Span);
            return;
        }
        using var stream = new SKMemoryStream(bytes);
        using var codec = SKCodec.Create(stream, out var created)
                          ?? throw new InvalidDataException($"{path}: not a readable image (corrupt or unsupported format: {created}).");
        int w = codec.Info.Width, h = codec.Info.Height;
        limits.Check(w, h, path);
        var origin = codec.EncodedOrigin;
        bool rotated = origin is not SKEncodedOrigin.TopLeft;
        long pixels = (long)w * h;
        // A rotated photo is decoded as stored, then turned into a second buffer: reserve both while it lasts.
        Reserve(pixels * (bytesPerPixel + (rotated ? 4 : 0)), cancel);
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        if (!rotated)
        {
            Allocate(w, h);
            Check(codec.GetPixels(info, Rgba!.Pointer), path);
            return;
        }
        using (var stored = new NativeBuffer(pixels * 4))
        {
            Check(codec.GetPixels(info, stored.Pointer), path);
            bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
            Allocate(swap ? h : w, swap ? w : h);
            ImageFile.Orient(stored.Span, w, h, Rgba!.Span, origin);
        }
        long keep = Math.Min(reserved, pixels * bytesPerPixel);
        budget.Release(reserved - keep);
        reserved = keep;
    }

    // IncompleteInput is what a truncated file gives: Skia fills the rest with zeros; refuse it, as ImageFile does.
    static void Check(SKCodecResult result, string path)
    {
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{path}: could not decode image ({(result == SKCodecResult.IncompleteInput ? "truncated file" : result.ToString())}).");
    }

    /// <summary>Time spent waiting for the memory budget: back-pressure, not decoding, so left out of decode's busy time.</summary>
    public long BudgetWaitTicks { get; private set; }

    void Reserve(long bytes, CancellationToken cancel)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        reserved += budget!.Acquire(bytes, cancel);
        BudgetWaitTicks += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
    }

    void Allocate(int width, int height)
    {
        Width = width;
        Height = height;
        Rgba = new NativeBuffer((long)width * height * 4);
    }

    public void Dispose()
    {
        Rgba?.Dispose();
        Mask?.Dispose();
        Matte?.Dispose();
        Cutout?.Dispose();
        if (Small is not null) ArrayPool<byte>.Shared.Return(Small);
        if (Probabilities is not null) ArrayPool<float>.Shared.Return(Probabilities);
        Small = null;
        Probabilities = null;
        Rgba = Mask = Matte = Cutout = null;
        if (reserved > 0) budget?.Release(reserved);
        reserved = 0;
    }
}
