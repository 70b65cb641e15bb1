using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MobileUNet.Model;

/// <summary>The JSON header of a weights file: which network the tensors belong to, and free-form extras
/// (normalisation, training state) that later stages record beside the weights.</summary>
internal sealed record WeightsHeader(int FormatVersion, ModelSpec Spec, JsonObject? Extra = null);

/// <summary>
/// The framing of a <c>.munet</c> weights file: a magic tag, then a length-prefixed JSON <see cref="WeightsHeader"/>,
/// then TorchSharp's state dict. This side reads and writes the framing without TorchSharp, so the inference library
/// can tell a weights file and its spec; the tensors are MobileUNet.Training's (<c>WeightsFile</c>).
/// </summary>
internal static class WeightsFormat
{
    static readonly byte[] Magic = "MUNETW01"u8.ToArray();

    /// <summary>Whether <paramref name="head"/> (a file's first bytes) starts with the weights magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> head) => head.StartsWith(Magic);
    public const int FormatVersion = 1;
    public const string Extension = ".munet";

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Reads only the header: cheap, and enough to build the matching model.</summary>
    public static WeightsHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        return ReadHeader(reader, path);
    }

    /// <summary>Writes the magic and the header; the state dict follows.</summary>
    public static void WriteHeader(BinaryWriter writer, WeightsHeader header)
    {
        writer.Write(Magic);
        var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
        writer.Write(json.Length);
        writer.Write(json);
    }

    public static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such weights file.", path);
        return File.OpenRead(path);
    }

    public static WeightsHeader ReadHeader(BinaryReader reader, string path)
    {
        try
        {
            var magic = reader.ReadBytes(Magic.Length);
            if (!magic.AsSpan().SequenceEqual(Magic))
                throw new InvalidDataException($"{path}: not a MobileUNet weights file (bad magic).");
            int length = reader.ReadInt32();
            if (length <= 0 || length > 1 << 20)
                throw new InvalidDataException($"{path}: corrupt header length {length}.");
            var json = reader.ReadBytes(length);
            if (json.Length != length) throw new InvalidDataException($"{path}: truncated header.");
            var header = JsonSerializer.Deserialize<WeightsHeader>(json, Json)
                         ?? throw new InvalidDataException($"{path}: empty header.");
            if (header.FormatVersion != FormatVersion)
                throw new InvalidDataException($"{path}: weights format {header.FormatVersion} is not supported (expected {FormatVersion}).");
            return header;
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: truncated weights file.");
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: unreadable header ({e.Message}).");
        }
    }
}
