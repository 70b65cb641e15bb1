namespace MobileUNet.Platform;

/// <summary>A whole folder written or nothing: filled under a temp name beside the target, then renamed into place.</summary>
internal static class DatasetFolder
{
    /// <summary>
    /// Calls <paramref name="fill"/> with an empty temp folder (<c>.NAME.PID.GUID.tmp</c> beside <paramref name="target"/>),
    /// then renames it to <paramref name="target"/>. An existing target is replaced only with <paramref name="overwrite"/>
    /// (or when empty). Stale temp folders of dead runs beside the target are removed first; on failure the temp goes.
    /// </summary>
    public static void WriteAtomically(string target, bool overwrite, Action<string> fill)
    {
        target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        var parent = Path.GetDirectoryName(target) ?? throw new ArgumentException($"{target}: cannot write a dataset at a file-system root.");
        var name = Path.GetFileName(target);
        Directory.CreateDirectory(parent);
        AtomicFile.RemoveStaleTemps(parent);
        var temp = Path.Combine(parent, AtomicFile.TempName(name));
        Directory.CreateDirectory(temp);
        try
        {
            fill(temp);
            if (Directory.Exists(target))
            {
                if (!overwrite && Directory.EnumerateFileSystemEntries(target).Any())
                    throw new IOException($"{target}: the folder is not empty, and replacing it was not asked for (the overwrite option).");
                // Old aside, new in, old deleted: the target name always holds one complete dataset.
                var old = Path.Combine(parent, AtomicFile.TempName(name + ".old"));
                Directory.Move(target, old);
                Directory.Move(temp, target);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(temp, target);
            AtomicFile.SyncFolder(parent);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }
}
