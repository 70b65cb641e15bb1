using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace MobileUNet.Platform;

/// <summary>
/// Writes a whole file or nothing: a temp file beside the target, then a rename over it, then an fsync of the
/// folder so the rename itself survives a power cut. Temp names carry the writer's PID
/// (<c>.NAME.PID.GUID.tmp*</c>); the first write into a folder removes temps whose writer is gone (a kill -9
/// mid-write), so they do not pile up.
/// </summary>
internal static partial class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var data = bytes.ToArray();
        Write(path, s => s.Write(data));
    }

    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        RemoveStaleTempsOnce(dir);
        var temp = Path.Combine(dir, TempName(Path.GetFileName(full)));
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
            SyncFolder(dir);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>A temp name for <paramref name="name"/> owned by this process: <c>.NAME.PID.GUID.tmp</c> plus <paramref name="suffix"/>.</summary>
    public static string TempName(string name, string suffix = "") =>
        string.Create(CultureInfo.InvariantCulture, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp{suffix}");

    [GeneratedRegex(@"^\..+\.(?<pid>[0-9]+)\.[0-9a-f]{32}\.tmp.*$", RegexOptions.CultureInvariant)]
    private static partial Regex TempPattern();

    static readonly ConcurrentDictionary<string, bool> Cleaned = new(StringComparer.Ordinal);

    /// <summary><see cref="RemoveStaleTemps"/>, at most once per folder per process.</summary>
    public static void RemoveStaleTempsOnce(string dir)
    {
        if (Cleaned.TryAdd(Path.GetFullPath(dir), true)) RemoveStaleTemps(dir);
    }

    /// <summary>
    /// Deletes temp files and folders (<c>.NAME.PID.GUID.tmp*</c>) in <paramref name="dir"/> whose PID is not a
    /// running process. Temps of live processes (this one included) are left alone. Returns the paths removed.
    /// </summary>
    public static IReadOnlyList<string> RemoveStaleTemps(string dir)
    {
        var removed = new List<string>();
        if (!Directory.Exists(dir)) return removed;
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir, ".*"))
        {
            var match = TempPattern().Match(Path.GetFileName(entry));
            if (!match.Success || !int.TryParse(match.Groups["pid"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (IsRunning(pid)) continue;
            try
            {
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
                removed.Add(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another process may be cleaning the same folder, or the temp is not ours to delete: leave it.
            }
        }
        return removed;
    }

    /// <summary>Whether a process with this id exists (a reused PID counts as running: a temp is then kept, never wrongly deleted).</summary>
    public static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        if (OperatingSystem.IsLinux()) return Directory.Exists(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}"));
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>fsync a folder so a rename into it is durable (POSIX: the rename lives in the folder's data). No-op on Windows.</summary>
    public static void SyncFolder(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Open(dir, 0 /* O_RDONLY */);
        if (fd < 0) return; // some file systems refuse to open folders; the data itself is already flushed
        try { _ = FSync(fd); }
        finally { _ = Close(fd); }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
