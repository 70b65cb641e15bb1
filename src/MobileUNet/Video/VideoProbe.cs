using System.Globalization;
using System.Text.Json;

namespace MobileUNet.Video;

/// <summary>What ffprobe says about an input's first video stream. <see cref="FrameCount"/> is null where the
/// container does not record it (cameras, some streams).</summary>
public sealed record VideoProbe(int Width, int Height, double Fps, long? FrameCount, bool HasAudio)
{
    public static VideoProbe Run(FfmpegTools tools, VideoInput input)
    {
        var args = new List<string> { "-v", "error" };
        args.AddRange(input.InputArguments());
        args.AddRange(["-show_entries", "stream=codec_type,width,height,avg_frame_rate,r_frame_rate,nb_frames", "-of", "json"]);
        // ffprobe takes the input as a bare argument, not after -i.
        int i = args.IndexOf("-i");
        args.RemoveAt(i);
        using var process = FfmpegTools.Start(tools.Ffprobe, args);
        var stderr = new StderrTail(process);
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidDataException($"{input}: not a readable video ({Short(stderr.Text(1))})");
        return Parse(stdout, input);
    }

    internal static VideoProbe Parse(string json, VideoInput input)
    {
        using var doc = JsonDocument.Parse(json);
        var streams = doc.RootElement.TryGetProperty("streams", out var s) ? s.EnumerateArray().ToList() : [];
        var video = streams.FirstOrDefault(x => Str(x, "codec_type") == "video");
        if (video.ValueKind != JsonValueKind.Object || !video.TryGetProperty("width", out var w) || w.GetInt32() <= 0)
            throw new InvalidDataException($"{input}: holds no video frames (no video stream)");
        int width = w.GetInt32(), height = video.GetProperty("height").GetInt32();
        double fps = Rate(Str(video, "avg_frame_rate")) ?? Rate(Str(video, "r_frame_rate")) ?? input.SequenceFps;
        if (input.Kind == VideoInputKind.ImageSequence) fps = input.SequenceFps;
        long? frames = long.TryParse(Str(video, "nb_frames"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;
        if (input.Kind == VideoInputKind.ImageSequence)
            frames = Directory.GetFiles(input.Path, Path.GetFileName(input.Glob!)).Length;
        if (frames == 0) throw new InvalidDataException($"{input}: the video has no frames");
        return new VideoProbe(width, height, fps, frames, input.MayHaveAudio && streams.Any(x => Str(x, "codec_type") == "audio"));
    }

    static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString()) : null;

    static double? Rate(string? text)
    {
        if (text is null) return null;
        var parts = text.Split('/');
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var b) && a > 0 && b > 0)
            return a / b;
        return null;
    }

    internal static string Short(string text) => text.Length == 0 ? "ffprobe gave no reason" : text;
}
