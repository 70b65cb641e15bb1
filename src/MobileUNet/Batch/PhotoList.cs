using System.Globalization;
using MobileUNet.Data;

namespace MobileUNet.Batch;

/// <summary>One photo to segment: where it is, and the collision-free name its outputs take (see <see cref="PhotoList"/>).</summary>
public sealed record PhotoInput(string Path, string Key);

/// <summary>
/// <c>--shard K/N</c>: a 0-based slice of the input list (0 &lt;= K &lt; N), the numbering of a Kubernetes Indexed Job's
/// <c>JOB_COMPLETION_INDEX</c> and of a Slurm array <c>0-(N-1)</c>.
/// </summary>
public readonly record struct Shard(int Index, int Count)
{
    public static Shard All { get; } = new(0, 1);

    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            && n >= 1 && k < n)
            return new Shard(k, n);
        throw new ArgumentException($"shard '{text}': expected K/N with 0 <= K < N (0-based, e.g. 0/4 .. 3/4).");
    }

    /// <summary>Photo <paramref name="position"/> of the sorted whole list belongs to this shard.</summary>
    public bool Owns(int position) => position % Count == Index;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    /// <summary>The shard's manifest: one per shard, so shards share an output folder without a lock.</summary>
    public string ManifestName => string.Create(CultureInfo.InvariantCulture, $"manifest-{Index}-of-{Count}.jsonl");
}

/// <summary>
/// Turns predict's arguments (files, folders, globs, list files) into the sorted, de-duplicated list of photos and
/// their output names, then keeps one shard of it.
/// <para>
/// Order: every path made absolute and sorted ordinally, so each shard, on any machine that sees the same files,
/// builds the same list; shard K keeps positions p with p % N == K (round robin: never overlapping, together the
/// whole list, balanced to one photo).
/// </para>
/// <para>
/// Names: a photo's key is its path below the folder or glob root it was found in (its file name for a plain
/// file, its path as written for a relative line of a list), extension included, so <c>photo.png</c> and
/// <c>photo.jpg</c> give <c>photo.png.mask.png</c> and <c>photo.jpg.mask.png</c>. When two photos of the whole list
/// still share a key (two input folders both holding <c>a.jpg</c>), each gets <c>~</c> and 8 hex digits of a hash of
/// its full path: deterministic, so every shard and every rerun agree.
/// </para>
/// </summary>
internal static class PhotoList
{
    /// <summary>Photo files under the arguments; <paramref name="exclude"/> (the output folder) is left out.</summary>
    public static IReadOnlyList<PhotoInput> Expand(IEnumerable<string> inputs, string? listFile = null, string? exclude = null)
    {
        var found = new List<(string Full, string Key)>();
        foreach (var input in inputs) found.AddRange(ExpandOne(input));
        if (listFile is not null) found.AddRange(ReadList(listFile));
        var excluded = exclude is null ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(exclude)) + Path.DirectorySeparatorChar;
        var unique = found
            .Where(f => excluded is null || !f.Full.StartsWith(excluded, StringComparison.Ordinal))
            .GroupBy(f => f.Full, StringComparer.Ordinal).Select(g => g.First())
            .OrderBy(f => f.Full, StringComparer.Ordinal).ToList();
        // Case-insensitive: results must not collide on a case-insensitive file system either.
        var shared = unique.GroupBy(f => f.Key, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1)
            .Select(g => g.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return unique.Select(f => new PhotoInput(f.Full, shared.Contains(f.Key) ? $"{f.Key}~{Fnv1a(f.Full):x8}" : f.Key)).ToList();
    }

    /// <summary>The photos shard <paramref name="shard"/> owns, in list order.</summary>
    public static IReadOnlyList<PhotoInput> Slice(IReadOnlyList<PhotoInput> all, Shard shard) =>
        shard.Count == 1 ? all : all.Where((_, i) => shard.Owns(i)).ToList();

    static IEnumerable<(string, string)> ExpandOne(string input)
    {
        if (File.Exists(input)) return [(Path.GetFullPath(input), Path.GetFileName(input))];
        if (Directory.Exists(input)) return InFolder(input, "*", recursive: false, input);
        int wild = input.IndexOfAny(['*', '?']);
        if (wild < 0) throw new FileNotFoundException($"{input}: no such image, folder or glob.", input);
        // The root is the folder part before the first wildcard; '**' anywhere means any depth below it.
        int cut = input.LastIndexOfAny(['/', '\\'], wild);
        var root = cut < 0 ? "." : input[..(cut + 1)];
        var rest = input[(cut + 1)..];
        bool recursive = rest.Contains("**", StringComparison.Ordinal);
        var namePattern = rest[(rest.LastIndexOfAny(['/', '\\']) + 1)..].Replace("**", "*", StringComparison.Ordinal);
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{input}: no folder {root} to match in.");
        var dirPattern = recursive ? null : rest.Contains('/') || rest.Contains('\\') ? rest : null;
        if (dirPattern is not null) throw new ArgumentException($"{input}: wildcards in folder names are not supported; use '**' or a list file.");
        var files = InFolder(root, namePattern, recursive, input).ToList();
        return files.Count > 0 ? files : throw new FileNotFoundException($"{input}: no images match.", input);
    }

    static IEnumerable<(string, string)> InFolder(string folder, string pattern, bool recursive, string input)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = recursive, MatchCasing = MatchCasing.PlatformDefault, IgnoreInaccessible = true };
        var rootFull = Path.GetFullPath(folder);
        var files = Directory.EnumerateFiles(folder, pattern, options).Where(ImageFile.IsImage)
            .Select(f => (Full: Path.GetFullPath(f), Key: Path.GetRelativePath(rootFull, Path.GetFullPath(f)).Replace('\\', '/'))).ToList();
        if (files.Count == 0 && !recursive && pattern == "*")
            throw new InvalidDataException($"{input}: no images ({string.Join(", ", ImageFile.Extensions.Select(e => e.TrimStart('.')))}).");
        return files;
    }

    /// <summary>
    /// One path a line; blank lines and lines starting with '#' are skipped. A relative line is relative to the
    /// list file's folder (the list travels with the photos), and keeps its subfolders in the output name.
    /// </summary>
    static IEnumerable<(string, string)> ReadList(string listFile)
    {
        if (!File.Exists(listFile)) throw new FileNotFoundException($"{listFile}: no such list file.", listFile);
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(listFile))!;
        var result = new List<(string, string)>();
        foreach (var raw in File.ReadLines(listFile))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var full = Path.GetFullPath(line, baseDir);
            bool keepFolders = !Path.IsPathRooted(line) && !line.Split('/', '\\').Contains("..");
            var key = keepFolders ? line.Replace('\\', '/') : Path.GetFileName(full);
            while (key.StartsWith("./", StringComparison.Ordinal)) key = key[2..];
            result.Add((full, key));
        }
        return result;
    }

    /// <summary>FNV-1a over the path's UTF-16 code units: stable across runs and machines (string.GetHashCode is not).</summary>
    internal static uint Fnv1a(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ (byte)c) * 16777619;
            hash = (hash ^ (byte)(c >> 8)) * 16777619;
        }
        return hash;
    }
}
