namespace MobileUNet.Video;

/// <summary>
/// Turns a frame and its full-resolution foreground probabilities into the output frame, in place. Owns the
/// scratch it needs (the blurred background) so composing allocates nothing per frame.
/// </summary>
public sealed class FrameComposer
{
    readonly OutputKind kind;
    readonly int width, height;
    readonly float threshold;
    readonly byte[]? background;     // fixed replacement (colour/image), or the per-frame blur target
    readonly int[]? blurScratch;
    readonly int blurRadius;
    readonly (byte R, byte G, byte B) tint = (255, 0, 255);
    const float TintStrength = 0.55f;

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

    public void Compose(Span<byte> rgb, ReadOnlySpan<float> probabilities)
    {
        int n = width * height;
        switch (kind)
        {
            case OutputKind.Mask:
                for (int i = 0, p = 0; i < n; i++, p += 3)
                    rgb[p] = rgb[p + 1] = rgb[p + 2] = probabilities[i] >= threshold ? (byte)255 : (byte)0;
                break;
            case OutputKind.Matte:
                for (int i = 0, p = 0; i < n; i++, p += 3)
                    rgb[p] = rgb[p + 1] = rgb[p + 2] = (byte)(Math.Clamp(probabilities[i], 0f, 1f) * 255f + 0.5f);
                break;
            case OutputKind.Overlay:
                // Fixed-point blend (alpha in 1/256ths): the per-pixel cost of the overlay is most of the
                // post-processing stage at 640x480, and integer lerps are about twice as fast as float ones here.
                for (int i = 0, p = 0; i < n; i++, p += 3)
                {
                    int a = (int)(Math.Clamp(probabilities[i], 0f, 1f) * (TintStrength * 256f) + 0.5f);
                    if (a == 0) continue;
                    rgb[p] = (byte)(rgb[p] + (((tint.R - rgb[p]) * a + 128) >> 8));
                    rgb[p + 1] = (byte)(rgb[p + 1] + (((tint.G - rgb[p + 1]) * a + 128) >> 8));
                    rgb[p + 2] = (byte)(rgb[p + 2] + (((tint.B - rgb[p + 2]) * a + 128) >> 8));
                }
                break;
            case OutputKind.Background:
                if (blurScratch is not null) BoxBlur.Apply(rgb, background!, blurScratch, width, height, blurRadius);
                for (int i = 0, p = 0; i < n; i++, p += 3)
                {
                    float a = Math.Clamp(probabilities[i], 0f, 1f);
                    for (int c = 0; c < 3; c++)
                        rgb[p + c] = (byte)(background![p + c] + (rgb[p + c] - background[p + c]) * a + 0.5f);
                }
                break;
        }
    }
}

/// <summary>Separable box blur by running sums (cost independent of the radius), applied twice: close to a Gaussian.</summary>
public static class BoxBlur
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
