using MobileUNet.Data;
using MobileUNet.Inference;

namespace MobileUNet.Video;

/// <summary>
/// Turns a frame and the model's S x S probabilities into the output frame, in place, row by row: each row of
/// probabilities is upsampled (<see cref="RowResampler"/>) and drawn with <see cref="MaskDrawing"/>, as predict
/// draws photos, so a frame and a photo of the same pixels get the same mask and overlay. Owns the scratch it needs
/// (the blurred background) so composing allocates nothing per frame.
/// </summary>
internal sealed class FrameComposer
{
    readonly OutputKind kind;
    readonly int width, height;
    readonly float threshold;
    readonly byte[]? background;     // fixed replacement (colour/image), or the per-frame blur target
    readonly int[]? blurScratch;
    readonly int blurRadius;

    public FrameComposer(OutputKind kind, int width, int height, float threshold = 0.5f,
                         BackgroundSpec? backgroundSpec = null, byte[]? backgroundImageRgb = null)
    {
        this.kind = kind;
        this.width = width;
        this.height = height;
        this.threshold = threshold;
        if (kind != OutputKind.Background) return;
        backgroundSpec ??= new BackgroundSpec(BackgroundKind.Blur);
        background = new byte[width * height * 3];
        switch (backgroundSpec.Kind)
        {
            case BackgroundKind.Color:
                for (int i = 0; i < background.Length; i += 3)
                    (background[i], background[i + 1], background[i + 2]) = (backgroundSpec.R, backgroundSpec.G, backgroundSpec.B);
                break;
            case BackgroundKind.Image:
                if (backgroundImageRgb is null || backgroundImageRgb.Length != background.Length)
                    throw new ArgumentException("background image must be given as width x height RGB24", nameof(backgroundImageRgb));
                backgroundImageRgb.CopyTo(background, 0);
                break;
            case BackgroundKind.Blur:
                blurRadius = backgroundSpec.BlurRadius;
                blurScratch = new int[width * height * 3];
                break;
        }
    }

    public OutputKind Kind => kind;

    /// <summary>
    /// <paramref name="probabilities"/>: the model's S x S output (smoothed or not); <paramref name="rows"/>
    /// resamples it from S x S to this frame's size.
    /// </summary>
    public void Compose(Span<byte> rgb, ReadOnlySpan<float> probabilities, RowResampler rows)
    {
        if (rows.Width != width || rows.Height != height)
            throw new ArgumentException($"rows are {rows.Width}x{rows.Height}, the frame {width}x{height}", nameof(rows));
        if (blurScratch is not null) BoxBlur.Apply(rgb, background!, blurScratch, width, height, blurRadius);
        int stride = width * 3;
        for (int y = 0; y < height; y++)
        {
            var p = rows.Row(probabilities, y);
            var pixels = rgb.Slice(y * stride, stride);
            switch (kind)
            {
                case OutputKind.Mask: MaskDrawing.Mask(p, threshold, pixels, 3); break;
                case OutputKind.Matte: MaskDrawing.Matte(p, pixels, 3); break;
                case OutputKind.Overlay: MaskDrawing.Overlay(p, threshold, pixels, 3); break;
                case OutputKind.Background: Blend(p, pixels, background.AsSpan(y * stride, stride)); break;
            }
        }
    }

    /// <summary>The frame over the background, the soft matte as its alpha.</summary>
    static void Blend(ReadOnlySpan<float> probabilities, Span<byte> rgb, ReadOnlySpan<byte> background)
    {
        for (int i = 0, p = 0; i < probabilities.Length; i++, p += 3)
        {
            float a = Math.Clamp(probabilities[i], 0f, 1f);
            for (int c = 0; c < 3; c++)
                rgb[p + c] = (byte)(background[p + c] + (rgb[p + c] - background[p + c]) * a + 0.5f);
        }
    }
}

/// <summary>Separable box blur by running sums (cost independent of the radius), applied twice: close to a Gaussian.</summary>
internal static class BoxBlur
{
    public static void Apply(ReadOnlySpan<byte> src, Span<byte> dst, Span<int> scratch, int width, int height, int radius)
    {
        src.CopyTo(dst);
        for (int pass = 0; pass < 2; pass++)
        {
            Horizontal(dst, scratch, width, height, radius);
            Vertical(scratch, dst, width, height, radius);
        }
    }

    static void Horizontal(ReadOnlySpan<byte> src, Span<int> dst, int width, int height, int r)
    {
        int window = 2 * r + 1;
        for (int y = 0; y < height; y++)
        {
            int row = y * width * 3;
            for (int c = 0; c < 3; c++)
            {
                int sum = 0;
                for (int k = -r; k <= r; k++) sum += src[row + Math.Clamp(k, 0, width - 1) * 3 + c];
                for (int x = 0; x < width; x++)
                {
                    dst[row + x * 3 + c] = sum;
                    sum += src[row + Math.Min(x + r + 1, width - 1) * 3 + c] - src[row + Math.Max(x - r, 0) * 3 + c];
                }
            }
        }
        // Normalise in place: the vertical pass reads the averaged rows.
        for (int i = 0; i < width * height * 3; i++) dst[i] /= window;
    }

    static void Vertical(ReadOnlySpan<int> src, Span<byte> dst, int width, int height, int r)
    {
        int window = 2 * r + 1, stride = width * 3;
        for (int col = 0; col < stride; col++)
        {
            int sum = 0;
            for (int k = -r; k <= r; k++) sum += src[Math.Clamp(k, 0, height - 1) * stride + col];
            for (int y = 0; y < height; y++)
            {
                dst[y * stride + col] = (byte)(sum / window);
                sum += src[Math.Min(y + r + 1, height - 1) * stride + col] - src[Math.Max(y - r, 0) * stride + col];
            }
        }
    }
}
