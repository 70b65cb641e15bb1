using System.Diagnostics;
using System.ComponentModel;

namespace MobileUNet.Video;

/// <summary>
/// Where the ffmpeg and ffprobe programs are. Configurable (rather than always taken from PATH) so a deployment
/// can point at its own build and a test can point at a program that does not exist.
/// </summary>
public sealed record FfmpegTools(string Ffmpeg, string Ffprobe)
{
    public const string InstallHint =
        "install ffmpeg (Debian/Ubuntu: `sudo apt-get install -y ffmpeg`; macOS: `brew install ffmpeg`; Windows: `winget install ffmpeg`) or name the ffmpeg program to use";

    public static FfmpegTools Default { get; } = new("ffmpeg", "ffprobe");

    /// <summary>ffprobe is looked up beside the given ffmpeg when that is a path, on PATH otherwise.</summary>
    public static FfmpegTools FromFfmpegPath(string? ffmpeg)
    {
        if (string.IsNullOrWhiteSpace(ffmpeg)) return Default;
        var dir = Path.GetDirectoryName(ffmpeg);
        var probe = string.IsNullOrEmpty(dir) ? "ffprobe" : Path.Combine(dir, "ffprobe" + Path.GetExtension(ffmpeg));
        return new FfmpegTools(ffmpeg, probe);
    }

    /// <summary>Starts one of the programs with redirected pipes; a missing program becomes one clear error with the install hint.</summary>
    internal static Process Start(string program, IEnumerable<string> args, bool redirectInput = false, bool redirectOutput = true)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        try
        {
            return Process.Start(info) ?? throw new FfmpegNotFoundException(program);
        }
        catch (Win32Exception)
        {
            throw new FfmpegNotFoundException(program);
        }
    }
}

/// <summary>The ffmpeg (or ffprobe) program could not be started.</summary>
public sealed class FfmpegNotFoundException(string program)
    : Exception($"cannot run '{program}': the ffmpeg program is needed for video; {FfmpegTools.InstallHint}")
{
    public string Program { get; } = program;
}

/// <summary>Keeps the last lines ffmpeg wrote to stderr, so a failure can say why in one line.</summary>
internal sealed class StderrTail
{
    readonly Queue<string> lines = new();
    readonly Task pump;

    public StderrTail(Process process)
    {
        pump = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
                lock (lines)
                {
                    if (line.Trim().Length == 0) continue;
                    lines.Enqueue(line.Trim());
                    if (lines.Count > 8) lines.Dequeue();
                }
        });
    }

    public string Text(int maxLines = 2)
    {
        pump.Wait(TimeSpan.FromSeconds(2));
        lock (lines) return string.Join(" | ", lines.TakeLast(maxLines));
    }
}
