using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MobileUNet.Platform;

namespace MobileUNet.Model;

/// <summary>The JSON header of a weights file: which network the tensors belong to, and free-form extras
/// (normalisation, training state) that later stages record beside the weights.</summary>
internal sealed record WeightsHeader(int FormatVersion, ModelSpec Spec, JsonObject? Extra = null);

/// <summary>
/// One file holds a model: a magic tag, a length-prefixed JSON header with the <see cref="ModelSpec"/>, then
/// TorchSharp's state dict. Written atomically (temp file + rename), so a crash never leaves half a model.
/// </summary>
internal static class WeightsFile
{
    static readonly byte[] Magic = "MUNETW01"u8.ToArray();

    /// <summary>Whether <paramref name="head"/> (a file's first bytes) starts with the weights magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> head) => head.StartsWith(Magic);
    public const int FormatVersion = 1;
    public const string Extension = ".munet";

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static void Save(MobileUNet model, string path, JsonObject? extra = null)
    {
        var header = new WeightsHeader(FormatVersion, model.Spec, extra);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
            writer.Write(json.Length);
            writer.Write(json);
            model.save(writer);
        });
    }

    /// <summary>Reads only the header: cheap, and enough to build the matching model.</summary>
    public static WeightsHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        return ReadHeader(reader, path);
    }

    /// <summary>Builds the model the file describes and loads its weights.</summary>
    public static (MobileUNet Model, WeightsHeader Header) Load(string path)
    {
        using var stream = OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var header = ReadHeader(reader, path);
        var model = new MobileUNet(header.Spec);
        try
        {
            LoadState(model, reader, path);
            return (model, header);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Loads weights into an existing model; refuses a file made for another spec.</summary>
    /// <param name="anyInputSize">Accept weights trained at another input size: the network is fully convolutional,
    /// so its weights do not depend on it (fine-tuning a 128 model at 160, say).</param>
    public static WeightsHeader LoadInto(MobileUNet model, string path, bool anyInputSize = false)
    {
        using var stream = OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var header = ReadHeader(reader, path);
        if ((anyInputSize ? header.Spec with { InputSize = model.Spec.InputSize } : header.Spec) != model.Spec)
            throw new InvalidDataException($"{path}: weights are for {header.Spec}, but the model is {model.Spec}.");
        LoadState(model, reader, path);
        return header;
    }

    static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such weights file.", path);
        return File.OpenRead(path);
    }

    static WeightsHeader ReadHeader(BinaryReader reader, string path)
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

    static void LoadState(MobileUNet model, BinaryReader reader, string path)
    {
        try
        {
            model.load(reader, strict: true);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"{path}: unreadable weights ({e.Message}).");
        }
        RequireFinite(model, path);
    }

    /// <summary>
    /// NaN or infinite weights (a damaged file, a diverged run) give all-background masks that look like a normal
    /// answer; refuse them at load time, naming the first bad tensor.
    /// </summary>
    public static void RequireFinite(MobileUNet model, string path)
    {
        using var _ = TorchSharp.torch.no_grad();
        foreach (var (name, tensor) in model.state_dict())
        {
            if (!tensor.is_floating_point()) continue;
            using var finite = TorchSharp.torch.isfinite(tensor).all();
            if (!finite.item<bool>())
                throw new InvalidDataException($"{path}: weight '{name}' holds NaN or infinite values; the file is damaged or came from a diverged run.");
        }
    }
}
