namespace MobileUNet.Video;

public enum VideoInputKind { File, ImageSequence, Camera }

/// <summary>
/// What the user named as INPUT: a video file, an image sequence (a folder of images, or a glob such as
/// <c>frames/*.png</c>), or a v4l2 camera device (<c>/dev/videoN</c>). Knows the ffmpeg input arguments for each.
/// </summary>
public sealed record VideoInput(VideoInputKind Kind, string Path, string? Glob = null, double SequenceFps = 25)
{
    static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm"];

    public static VideoInput Parse(string input, double sequenceFps = 25)
    {
        if (string.IsNullOrWhiteSpace(input)) throw new ArgumentException("no input given");
        if (input.StartsWith("/dev/video", StringComparison.Ordinal))
        {
            if (!OperatingSystem.IsLinux())
                throw new ArgumentException($"camera input {input}: v4l2 devices exist only on Linux");
            if (!File.Exists(input))
            {
                var present = Directory.Exists("/dev") ? Directory.GetFiles("/dev", "video*") : [];
                throw new ArgumentException(present.Length == 0
                    ? $"camera input {input}: no such device (this machine has no v4l2 camera: /dev/video* is empty)"
                    : $"camera input {input}: no such device (present: {string.Join(", ", present)})");
            }
            return new VideoInput(VideoInputKind.Camera, input);
        }
        if (input.Contains('*') || input.Contains('?'))
        {
            var dir = System.IO.Path.GetDirectoryName(input);
            var pattern = System.IO.Path.GetFileName(input);
            dir = string.IsNullOrEmpty(dir) ? "." : dir;
            if (!Directory.Exists(dir) || Directory.GetFiles(dir, pattern).Length == 0)
                throw new ArgumentException($"image sequence {input}: no files match");
            return new VideoInput(VideoInputKind.ImageSequence, dir, input, sequenceFps);
        }
        if (Directory.Exists(input))
        {
            var ext = Directory.GetFiles(input)
                .Select(f => System.IO.Path.GetExtension(f).ToLowerInvariant())
                .Where(e => ImageExtensions.Contains(e))
                .GroupBy(e => e).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault()
                ?? throw new ArgumentException($"image sequence {input}: the folder holds no images ({string.Join(", ", ImageExtensions)})");
            return new VideoInput(VideoInputKind.ImageSequence, input, System.IO.Path.Combine(input, "*" + ext), sequenceFps);
        }
        if (!File.Exists(input)) throw new FileNotFoundException($"{input}: no such file", input);
        try { using var _ = File.OpenRead(input); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{input}: cannot read ({e.Message})", e);
        }
        return new VideoInput(VideoInputKind.File, input);
    }

    /// <summary>The ffmpeg/ffprobe arguments that open this input (everything up to and including <c>-i</c>).</summary>
    public IReadOnlyList<string> InputArguments() => Kind switch
    {
        VideoInputKind.Camera => ["-f", "v4l2", "-i", Path],
        VideoInputKind.ImageSequence => ["-framerate", SequenceFps.ToString(System.Globalization.CultureInfo.InvariantCulture),
                                         "-pattern_type", "glob", "-i", Glob!],
        _ => ["-i", Path],
    };

    /// <summary>Only files can carry an audio track to pass through.</summary>
    public bool MayHaveAudio => Kind == VideoInputKind.File;

    public override string ToString() => Glob ?? Path;
}
