using System.Diagnostics;
using System.Globalization;

namespace MobileUNet.Video;

/// <summary>Encoding settings: H.264 through libx264 by default, audio copied from the input when it has any.</summary>
public sealed record EncoderOptions(string VideoCodec = "libx264", string Preset = "veryfast", int Crf = 23);

/// <summary>
/// Runs ffmpeg reading raw RGB24 frames on its stdin and writing a video file. It writes to a temp file beside the
/// output and <see cref="Complete"/> renames it into place only after ffmpeg exits cleanly, so a failure or a kill
/// never leaves a half-written file under the output name.
/// </summary>
internal sealed class FfmpegEncoder : IFrameSink, IDisposable
{
    readonly Process process;
    readonly Stream stdin;
    readonly StderrTail stderr;
    readonly string output;
    readonly string temp;
    readonly int frameBytes;
    bool completed;

    public FfmpegEncoder(FfmpegTools tools, string output, int width, int height, double fps,
                         IReadOnlyList<string>? audioInput = null, EncoderOptions? options = null, string audioCodec = "copy")
    {
        options ??= new EncoderOptions();
        this.output = Path.GetFullPath(output);
        frameBytes = width * height * 3;
        var dir = Path.GetDirectoryName(this.output)!;
        try
        {
            Directory.CreateDirectory(dir);
            // The extension stays last so ffmpeg picks the muxer the user asked for.
            Platform.AtomicFile.RemoveStaleTempsOnce(dir);
            temp = Path.Combine(dir, Platform.AtomicFile.TempName(Path.GetFileNameWithoutExtension(this.output), Path.GetExtension(this.output)));
            using (new FileStream(temp, FileMode.CreateNew, FileAccess.Write)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IOException($"{output}: cannot write the output ({e.Message})", e);
        }

        var inv = CultureInfo.InvariantCulture;
        var args = new List<string>
        {
            "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{width}x{height}", "-r", fps.ToString("R", inv), "-i", "-",
        };
        if (audioInput is not null) args.AddRange(audioInput);
        args.AddRange(["-map", "0:v:0"]);
        // The trailing '?' makes the audio optional: inputs without audio still encode.
        if (audioInput is not null) args.AddRange(["-map", "1:a?", "-c:a", audioCodec, "-shortest"]);
        args.AddRange(["-c:v", options.VideoCodec, "-preset", options.Preset, "-crf", options.Crf.ToString(inv), "-pix_fmt", "yuv420p"]);
        // yuv420p needs even dimensions: pad odd ones by a pixel rather than refuse the input.
        if (width % 2 != 0 || height % 2 != 0) args.AddRange(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]);
        args.Add(temp);
        try
        {
            process = FfmpegTools.Start(tools.Ffmpeg, args, redirectInput: true, redirectOutput: false);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        stdin = process.StandardInput.BaseStream;
        stderr = new StderrTail(process);
    }

    public string OutputPath => output;

    public void WriteFrame(ReadOnlySpan<byte> rgb, long index)
    {
        try
        {
            stdin.Write(rgb[..frameBytes]);
        }
        catch (IOException e)
        {
            throw new IOException($"{output}: ffmpeg stopped encoding ({Reason()})", e);
        }
    }

    /// <summary>Closes ffmpeg's stdin (so it finishes the file), waits for it, and moves the file into place.</summary>
    public void Complete()
    {
        try { stdin.Close(); } catch (IOException) { }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new IOException($"{output}: ffmpeg failed to encode ({Reason()})");
        File.Move(temp, output, overwrite: true);
        Platform.AtomicFile.SyncFolder(Path.GetDirectoryName(output)!);
        completed = true;
    }

    string Reason() => process.WaitForExit(5000) && stderr.Text() is { Length: > 0 } t ? t : "no message from ffmpeg";

    /// <summary>Without <see cref="Complete"/>: ffmpeg is stopped and the temp file deleted.</summary>
    public void Dispose()
    {
        if (!completed)
        {
            try { if (!process.HasExited) process.Kill(entireProcessTree: true); process.WaitForExit(); } catch (InvalidOperationException) { }
            try { File.Delete(temp); } catch (IOException) { }
        }
        process.Dispose();
    }
}
