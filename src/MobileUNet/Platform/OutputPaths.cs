namespace MobileUNet.Platform;

/// <summary>
/// The one guard every writing command calls before its work starts: an output must not resolve (after
/// symlinks) to one of the command's inputs, must be the kind of thing expected (file or folder), and its
/// folder must be writable, so a bad output path fails in the first second rather than after an epoch.
/// Nothing is created: a refused run leaves no folder behind.
/// </summary>
internal static class OutputPaths
{
    /// <summary>Checks an output file against the inputs (files or folders; null entries and names that are not paths are skipped).</summary>
    public static void CheckFile(string output, params string?[] inputs)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        var resolved = Resolve(output);
        if (Directory.Exists(resolved))
            throw new ArgumentException($"{output}: is a folder; expected a file name to write.");
        foreach (var input in inputs)
            if (input is not null && Exists(input) && Resolve(input) == resolved)
                throw new ArgumentException($"{output}: is the input {input}; writing it would destroy the input. Choose another output path.");
        CheckWritable(output, Path.GetDirectoryName(resolved)!);
    }

    /// <summary>Checks an output folder: not a file (and so not an input file), and writable.</summary>
    public static void CheckFolder(string output, params string?[] inputs)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        var resolved = Resolve(output);
        foreach (var input in inputs)
            if (input is not null && File.Exists(input) && Resolve(input) == resolved)
                throw new ArgumentException($"{output}: is the input {input}; expected an output folder.");
        if (File.Exists(resolved))
            throw new ArgumentException($"{output}: is a file; expected a folder.");
        CheckWritable(output, resolved);
    }

    /// <summary>The absolute path with every symlink along it resolved (the missing tail kept as written).</summary>
    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var current = root;
        var parts = new Queue<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        for (int hops = 0; parts.Count > 0;)
        {
            var next = Path.Combine(current, parts.Dequeue());
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is { } target)
            {
                if (++hops > 40) throw new IOException($"{path}: too many levels of symbolic links.");
                // Restart from the link's target with the remaining parts appended.
                var rest = string.Join(Path.DirectorySeparatorChar, parts);
                var absolute = Path.GetFullPath(Path.Combine(current, target));
                full = rest.Length == 0 ? absolute : Path.Combine(absolute, rest);
                root = Path.GetPathRoot(full)!;
                current = root;
                parts = new Queue<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
                continue;
            }
            current = next;
        }
        return current;
    }

    static bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    /// <summary>Creates and deletes a probe file in the nearest existing folder at or above <paramref name="dir"/>.</summary>
    static void CheckWritable(string output, string dir)
    {
        var existing = dir;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing)) throw new IOException($"{output}: cannot write the output: {existing} is a file, not a folder.");
            existing = Path.GetDirectoryName(existing) ?? throw new IOException($"{output}: no existing folder above it.");
        }
        var probe = Path.Combine(existing, AtomicFile.TempName("write-check"));
        try
        {
            using var _ = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{output}: cannot write the output in {existing} ({e.Message})", e);
        }
    }
}
