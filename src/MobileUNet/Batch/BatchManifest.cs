using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobileUNet.Batch;

/// <summary>Milliseconds one photo spent working in each stage (queue waits left out).</summary>
public sealed record StageTimings(double Decode, double PreProcess, double Infer, double PostProcess, double Encode);

/// <summary>
/// One line of a manifest: a photo and what became of it. <see cref="Outputs"/> maps an output kind to its file,
/// relative to the output folder; <see cref="Error"/> is null when the photo succeeded.
/// </summary>
public sealed record ManifestEntry(
    string Input,
    IReadOnlyDictionary<string, string>? Outputs,
    int? Width,
    int? Height,
    double? ForegroundFraction,
    StageTimings? TimingsMs,
    string? Error)
{
    public bool Succeeded => Error is null && Outputs is not null;
}

/// <summary>
/// A shard's JSON-lines manifest (<c>manifest-K-of-N.jsonl</c>), appended one line per photo after its outputs are
/// on disk, and flushed line by line: a killed run leaves every finished photo recorded and at most one torn last
/// line, which readers skip and the next writer starts after.
/// </summary>
internal sealed class BatchManifest : IDisposable
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    readonly FileStream stream;
    readonly Lock gate = new();

    public BatchManifest(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        // After a kill mid-line, start on a fresh line so the torn one stays a single unreadable line.
        if (stream.Length > 0)
        {
            stream.Seek(-1, SeekOrigin.End);
            bool endsWithNewline = stream.ReadByte() == '\n';
            stream.Seek(0, SeekOrigin.End);
            if (!endsWithNewline) stream.WriteByte((byte)'\n');
        }
    }

    public string Path { get; }

    public void Append(ManifestEntry entry)
    {
        var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entry, Json) + "\n");
        lock (gate)
        {
            stream.Write(line);
            stream.Flush();
        }
    }

    /// <summary>Every readable entry of every manifest in <paramref name="folder"/> (all shards, any shard count).</summary>
    public static IEnumerable<ManifestEntry> ReadFolder(string folder)
    {
        if (!Directory.Exists(folder)) yield break;
        foreach (var file in Directory.EnumerateFiles(folder, "manifest-*-of-*.jsonl").Order(StringComparer.Ordinal))
            foreach (var entry in Read(file))
                yield return entry;
    }

    public static IEnumerable<ManifestEntry> Read(string path)
    {
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            ManifestEntry? entry;
            try { entry = JsonSerializer.Deserialize<ManifestEntry>(line, Json); }
            catch (JsonException) { continue; } // a line torn by a kill
            if (entry is not null) yield return entry;
        }
    }

    public void Dispose() => stream.Dispose();
}
