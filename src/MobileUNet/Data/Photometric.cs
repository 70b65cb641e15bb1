using System.Runtime.InteropServices;
using SkiaSharp;

namespace MobileUNet.Data;

/// <summary>
/// Camera-like changes to a whole photo (never its mask): the colour jitter plus hue, gamma, blur, sensor noise
/// and a real JPEG round trip at a random quality. Each effect has a chance, so some samples stay clean.
/// </summary>
public sealed record Photometric(ColourJitter Colour, double MaxHueDegrees = 12, double MinGamma = 0.7, double MaxGamma = 1.4,
                                 double BlurChance = 0.25, double MaxBlurSigma = 1.3, double NoiseChance = 0.3, double MaxNoiseSigma = 8,
                                 double JpegChance = 0.4, int MinJpegQuality = 30)
{
    public static Photometric RealPhotos { get; } = new(new ColourJitter(0.3, 0.3, 0.4));

    public void Apply(RgbaImage image, Random rng)
    {
        Colour.Apply(image, rng);
        Hue(image, rng.Uniform(-MaxHueDegrees, MaxHueDegrees));
        Gamma(image, Math.Exp(rng.Uniform(Math.Log(MinGamma), Math.Log(MaxGamma))));
        if (rng.NextDouble() < BlurChance) GaussianBlur.Rgb(image, rng.Uniform(0.4, MaxBlurSigma));
        if (rng.NextDouble() < NoiseChance) Noise(image, rng.Uniform(1, MaxNoiseSigma), rng);
        if (rng.NextDouble() < JpegChance) JpegRoundTrip(image, rng.Next(MinJpegQuality, 96));
    }

    /// <summary>Rotates chroma about the grey axis (YIQ rotation): a white-balance shift, luminance kept.</summary>
    static void Hue(RgbaImage image, double degrees)
    {
        if (degrees == 0) return;
        double a = degrees * Math.PI / 180, c = Math.Cos(a), s = Math.Sin(a);
        var p = image.Pixels;
        for (int i = 0; i < p.Length; i += 4)
        {
            double r = p[i], g = p[i + 1], b = p[i + 2];
            double y = 0.299 * r + 0.587 * g + 0.114 * b, ci = 0.596 * r - 0.274 * g - 0.322 * b, cq = 0.211 * r - 0.523 * g + 0.312 * b;
            double i2 = ci * c - cq * s, q2 = ci * s + cq * c;
            p[i] = ToByte(y + 0.956 * i2 + 0.621 * q2);
            p[i + 1] = ToByte(y - 0.272 * i2 - 0.647 * q2);
            p[i + 2] = ToByte(y - 1.106 * i2 + 1.703 * q2);
        }
    }

    static void Gamma(RgbaImage image, double gamma)
    {
        Span<byte> lut = stackalloc byte[256];
        for (int v = 0; v < 256; v++) lut[v] = ToByte(255 * Math.Pow(v / 255.0, gamma));
        var p = image.Pixels;
        for (int i = 0; i < p.Length; i += 4) { p[i] = lut[p[i]]; p[i + 1] = lut[p[i + 1]]; p[i + 2] = lut[p[i + 2]]; }
    }

    static void Noise(RgbaImage image, double sigma, Random rng)
    {
        var p = image.Pixels;
        for (int i = 0; i < p.Length; i += 4)
            for (int ch = 0; ch < 3; ch++)
            {
                // Box-Muller: one normal draw per channel value.
                double n = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                p[i + ch] = ToByte(p[i + ch] + sigma * n);
            }
    }

    /// <summary>Encodes with Skia's JPEG encoder and decodes back: real block and ringing artefacts.</summary>
    static void JpegRoundTrip(RgbaImage image, int quality)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var handle = GCHandle.Alloc(image.Pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var data = pixmap.Encode(SKEncodedImageFormat.Jpeg, quality);
            if (data is null) return;
            using var codec = SKCodec.Create(data);
            if (codec is null) return;
            var alpha = new byte[image.Width * image.Height];
            for (int i = 0; i < alpha.Length; i++) alpha[i] = image.Pixels[i * 4 + 3];
            if (codec.GetPixels(info, handle.AddrOfPinnedObject()) != SKCodecResult.Success) return;
            for (int i = 0; i < alpha.Length; i++) image.Pixels[i * 4 + 3] = alpha[i];
        }
        finally { handle.Free(); }
    }

    internal static byte ToByte(double v) => (byte)Math.Clamp(v + 0.5, 0, 255);
}

/// <summary>Separable Gaussian blur over RGB (alpha untouched) or over a float plane; borders clamped.</summary>
internal static class GaussianBlur
{
    public static void Rgb(RgbaImage image, double sigma)
    {
        var kernel = Kernel(sigma);
        if (kernel.Length == 1) return;
        int w = image.Width, h = image.Height, r = kernel.Length / 2;
        var p = image.Pixels;
        var tmp = new float[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (int k = -r; k <= r; k++) sum += kernel[k + r] * p[(y * w + Math.Clamp(x + k, 0, w - 1)) * 4 + c];
                    tmp[(y * w + x) * 3 + c] = (float)sum;
                }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (int k = -r; k <= r; k++) sum += kernel[k + r] * tmp[(Math.Clamp(y + k, 0, h - 1) * w + x) * 3 + c];
                    p[(y * w + x) * 4 + c] = Photometric.ToByte(sum);
                }
    }

    public static void Plane(float[] plane, int w, int h, double sigma)
    {
        var kernel = Kernel(sigma);
        if (kernel.Length == 1) return;
        int r = kernel.Length / 2;
        var tmp = new float[plane.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double sum = 0;
                for (int k = -r; k <= r; k++) sum += kernel[k + r] * plane[y * w + Math.Clamp(x + k, 0, w - 1)];
                tmp[y * w + x] = (float)sum;
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double sum = 0;
                for (int k = -r; k <= r; k++) sum += kernel[k + r] * tmp[Math.Clamp(y + k, 0, h - 1) * w + x];
                plane[y * w + x] = (float)sum;
            }
    }

    static double[] Kernel(double sigma)
    {
        if (sigma < 0.2) return [1];
        int r = Math.Max(1, (int)Math.Ceiling(2.5 * sigma));
        var k = new double[2 * r + 1];
        double total = 0;
        for (int i = -r; i <= r; i++) total += k[i + r] = Math.Exp(-i * i / (2 * sigma * sigma));
        for (int i = 0; i < k.Length; i++) k[i] /= total;
        return k;
    }
}
