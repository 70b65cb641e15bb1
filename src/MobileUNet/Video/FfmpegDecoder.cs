using System.Diagnostics;

namespace MobileUNet.Video;

/// <summary>Runs ffmpeg to decode an input's first video stream to raw RGB24 frames on its stdout.</summary>
internal sealed class FfmpegDecoder : IFrameSource, IDisposable
{
    readonly Process process;
    readonly Stream stdout;
    readonly StderrTail stderr;
    readonly VideoInput input;
    long frames;

    public FfmpegDecoder(FfmpegTools tools, VideoInput input, VideoProbe probe)
    {
        this.input = input;
        Width = probe.Width;
        Height = probe.Height;
        var args = new List<string> { "-hide_banner", "-loglevel", "error", "-nostdin" };
        args.AddRange(input.InputArguments());
        args.AddRange(["-map", "0:v:0", "-an", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
        process = FfmpegTools.Start(tools.Ffmpeg, args);
        stdout = process.StandardOutput.BaseStream;
        stderr = new StderrTail(process);
    }

    public int Width { get; }
    public int Height { get; }

    public bool ReadFrame(Span<byte> rgb)
    {
        int read = stdout.ReadAtLeast(rgb[..(Width * Height * 3)], Width * Height * 3, throwOnEndOfStream: false);
        if (read == Width * Height * 3) { frames++; return true; }
        // End of stream: a clean exit means the input ended; anything else is a decode failure worth naming.
        process.WaitForExit();
        if (process.ExitCode != 0 && frames == 0)
            throw new InvalidDataException($"{input}: ffmpeg could not decode it ({stderr.Text(1)})");
        // A truncated file or a corrupt frame still yields frames (ffmpeg even repeats a neighbour for a broken
        // image in a sequence); its error lines are the only sign, so they are kept for the caller to report.
        var errors = stderr.Text(2);
        if (process.ExitCode != 0 || errors.Length > 0)
            Problem = errors.Length > 0 ? $"ffmpeg: {errors}" : $"ffmpeg exited with code {process.ExitCode}";
        return false;
    }

    /// <summary>After the last frame: what went wrong while decoding (null when the input decoded cleanly).</summary>
    public string? Problem { get; private set; }

    /// <summary>Stops decoding early (Ctrl-C): ffmpeg is killed, the frames already read stay valid.</summary>
    public void Dispose()
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        process.Dispose();
    }
}
