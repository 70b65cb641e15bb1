using System.Globalization;

namespace MobileUNet.Video;

public sealed record SampleClipOptions(int Width = 160, int Height = 120, int Frames = 64, double Fps = 25, bool Audio = true);

/// <summary>
/// Makes the repo's own test and demo clip, licence-clean by construction: a soft-edged figure (a head over a
/// shoulder ellipse) moving across a drifting colour gradient, encoded as H.264 by ffmpeg, with a 440 Hz tone from
/// ffmpeg's <c>sine</c> source as the audio track so audio passthrough can be checked.
/// </summary>
public static class SampleClip
{
    public static void Write(FfmpegTools tools, string output, SampleClipOptions? options = null)
    {
        var o = options ?? new SampleClipOptions();
        if (o.Width < 16 || o.Height < 16 || o.Frames < 1 || o.Fps <= 0)
            throw new ArgumentException("sample clip: width and height at least 16, at least one frame, fps > 0");
        var inv = CultureInfo.InvariantCulture;
        string[]? audio = o.Audio
            ? ["-f", "lavfi", "-i", $"sine=frequency=440:sample_rate=44100:duration={(o.Frames / o.Fps).ToString("R", inv)}"]
            : null;
        using var encoder = new FfmpegEncoder(tools, output, o.Width, o.Height, o.Fps, audio, new EncoderOptions(Crf: 18), audioCodec: "aac");
        var rgb = new byte[o.Width * o.Height * 3];
        for (int t = 0; t < o.Frames; t++)
        {
            Draw(rgb, o.Width, o.Height, t, o.Frames);
            encoder.WriteFrame(rgb, t);
        }
        encoder.Complete();
    }

    /// <summary>Frame <paramref name="t"/> of the clip; public so tests can know the ground-truth figure.</summary>
    public static void Draw(Span<byte> rgb, int width, int height, int t, int frames)
    {
        double phase = frames > 1 ? (double)t / (frames - 1) : 0;
        double cx = width * (0.25 + 0.5 * phase), headY = height * 0.38, headR = height * 0.16;
        double bodyY = height * 0.9, bodyRx = width * 0.2, bodyRy = height * 0.3;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 3;
                // Background: a diagonal gradient whose hue drifts over time.
                double g = (x + y) / (double)(width + height);
                byte br = (byte)(40 + 120 * g), bg = (byte)(90 + 100 * (1 - g) * (0.5 + 0.5 * Math.Sin(phase * Math.PI))), bb = (byte)(160 - 80 * g);
                double head = headR - Math.Sqrt((x - cx) * (x - cx) + (y - headY) * (y - headY));
                double body = 1 - Math.Sqrt((x - cx) * (x - cx) / (bodyRx * bodyRx) + (y - bodyY) * (y - bodyY) / (bodyRy * bodyRy));
                double a = Math.Clamp(Math.Max(head, body * bodyRy) + 0.5, 0, 1);   // one pixel of anti-aliasing
                rgb[p] = (byte)(br + (230 - br) * a);
                rgb[p + 1] = (byte)(bg + (180 - bg) * a);
                rgb[p + 2] = (byte)(bb + (140 - bb) * a);
            }
    }
}
