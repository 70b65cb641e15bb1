using System.Globalization;

namespace MobileUNet.Platform;

/// <summary>
/// One writer per folder: a <c>.lock</c> file holding the owner's PID, created with CreateNew (atomic). A second
/// run into the folder gets a clear error naming the owner; a lock whose PID is no longer running (a kill -9)
/// is taken over. Dispose removes the lock.
/// </summary>
internal sealed class FolderLock : IDisposable
{
    public const string FileName = ".lock";

    readonly string path;
    bool released;

    FolderLock(string path) => this.path = path;

    public string Path => path;

    /// <summary>Takes the lock on <paramref name="dir"/> (created if missing) for <paramref name="purpose"/> (e.g. "train run").</summary>
    public static FolderLock Acquire(string dir, string purpose)
    {
        Directory.CreateDirectory(dir);
        var lockPath = System.IO.Path.Combine(dir, FileName);
        var me = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                using (var stream = new FileStream(lockPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
                using (var writer = new StreamWriter(stream))
                    writer.Write(me + "\n");
                return new FolderLock(lockPath);
            }
            catch (IOException) when (File.Exists(lockPath))
            {
                var owner = ReadOwner(lockPath);
                if (owner is { } pid && AtomicFile.IsRunning(pid))
                    throw new IOException($"{dir}: another {purpose} (PID {pid}) is using this folder ({lockPath}); wait for it to finish or choose another folder.");
                if (owner is null && File.GetLastWriteTimeUtc(lockPath) > DateTime.UtcNow.AddSeconds(-2))
                {
                    // Just created and not yet written by its owner: give it a moment.
                    Thread.Sleep(100);
                    continue;
                }
                // Stale: its PID is gone. Delete it only if it still names that PID (another taker may have won).
                if (ReadOwner(lockPath) == owner)
                    try { File.Delete(lockPath); } catch (IOException) { }
            }
        }
        throw new IOException($"{dir}: could not take the folder lock {lockPath}; another process keeps replacing it.");
    }

    static int? ReadOwner(string lockPath)
    {
        try
        {
            var text = File.ReadAllText(lockPath).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public void Dispose()
    {
        if (released) return;
        released = true;
        if (ReadOwner(path) == Environment.ProcessId) File.Delete(path);
    }
}
