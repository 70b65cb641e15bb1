using Google.Protobuf;
using MobileUNet.Export;
using MobileUNet.Model;
using Onnx;

namespace MobileUNet.Inference;

/// <summary>What a model file holds, told from its first bytes (never from its extension alone).</summary>
public enum ModelFileKind { Weights, Onnx }

/// <summary>
/// Where a model comes from: a file (.munet weights or an .onnx export), a model shipped with the library by name
/// (<c>person</c>, <c>hair</c>), or an untrained spec plus seed (speed work needs no training). The one place that
/// sniffs a file's kind, reads its spec, and opens a segmenter or yields ONNX bytes. What needs TorchSharp (.munet
/// weights on the torch backend, exporting weights or an untrained spec to ONNX) is done by MobileUNet.Training
/// (<see cref="IWeightsRuntime"/>) when that assembly is present; this library alone runs ONNX files.
/// </summary>
public abstract record ModelSource
{
    ModelSource() { }

    /// <summary>A .munet or .onnx file.</summary>
    public sealed record File(string Path) : ModelSource
    {
        public override string Label => System.IO.Path.GetFileName(Path);
    }

    /// <summary>
    /// A model shipped in the <c>models/</c> folder beside the assembly: its ONNX export (which MobileUNet.Core
    /// carries) and its .munet weights (which MobileUNet.Training carries), whichever are present.
    /// </summary>
    public sealed record Shipped(string Name, string? WeightsPath, string? OnnxPath) : ModelSource
    {
        public override string Label => Name;
    }

    /// <summary>Fresh weights of <paramref name="Spec"/> from a fixed seed: repeatable, and enough for speed work.</summary>
    public sealed record Untrained(ModelSpec Spec, long Seed = 0) : ModelSource
    {
        public override string Label => $"untrained {Spec.Label}";
    }

    /// <summary>A short name for logs and reports.</summary>
    public abstract string Label { get; }

    /// <summary>The folder shipped models are found in: beside the assembly, wherever the program was started from.</summary>
    public static string ShippedFolder => System.IO.Path.Combine(AppContext.BaseDirectory, "models");

    /// <summary>
    /// The names of the models shipped with this build: a <c>NAME.onnx</c> or <c>NAME.munet</c> in
    /// <see cref="ShippedFolder"/> (<c>NAME.int8.onnx</c> is a variant of NAME, not a name of its own).
    /// </summary>
    public static IReadOnlyList<string> ShippedNames =>
        Directory.Exists(ShippedFolder)
            ? [.. Directory.EnumerateFiles(ShippedFolder)
                .Where(f => f.EndsWith(WeightsFormat.Extension, StringComparison.Ordinal) || f.EndsWith(".onnx", StringComparison.Ordinal))
                .Select(System.IO.Path.GetFileNameWithoutExtension)
                .Where(n => n!.IndexOf('.') < 0)
                .Select(n => n!).Distinct().Order(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// A <c>-m|--model</c> argument: an existing path is a file; a bare name (no folder, no extension) is a shipped
    /// model. Anything else is an error that lists the shipped names.
    /// </summary>
    public static ModelSource Parse(string nameOrPath)
    {
        if (Directory.Exists(nameOrPath)) throw new InvalidDataException($"{nameOrPath}: is a folder, not a model file (.munet or .onnx).");
        if (System.IO.File.Exists(nameOrPath)) return new File(nameOrPath);
        bool looksLikeName = nameOrPath.Length > 0 && nameOrPath.IndexOfAny(['/', '\\', '.']) < 0;
        if (!looksLikeName) throw new FileNotFoundException($"{nameOrPath}: no such model file.", nameOrPath);
        var weights = System.IO.Path.Combine(ShippedFolder, nameOrPath + WeightsFormat.Extension);
        var onnx = System.IO.Path.Combine(ShippedFolder, nameOrPath + ".onnx");
        bool hasWeights = System.IO.File.Exists(weights), hasOnnx = System.IO.File.Exists(onnx);
        if (!hasWeights && !hasOnnx)
        {
            var names = ShippedNames;
            throw new FileNotFoundException(names.Count > 0
                ? $"{nameOrPath}: no such model file or shipped model (shipped: {string.Join(", ", names)})."
                : $"{nameOrPath}: no such model file, and this build ships no models ({ShippedFolder} is empty or missing).", nameOrPath);
        }
        return new Shipped(nameOrPath, hasWeights ? weights : null, hasOnnx ? onnx : null);
    }

    /// <summary>An optional <c>--encoder-weights</c> argument: absent or <c>none</c> trains the encoder from scratch (null).</summary>
    public static string? PretrainedEncoderPathOrNone(string? nameOrPath) =>
        nameOrPath is null || nameOrPath.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : PretrainedEncoderPath(nameOrPath);

    /// <summary>
    /// A <c>--encoder-weights</c> argument: an existing file (a TF.js weights manifest, or a trained model's .munet whose
    /// encoder is taken), the name of a pretrained encoder shipped in <c>models/encoders/NAME/</c> (its
    /// <c>weights_manifest.json</c>), or the name of a shipped model (its .munet).
    /// </summary>
    public static string PretrainedEncoderPath(string nameOrPath)
    {
        if (System.IO.File.Exists(nameOrPath)) return nameOrPath;
        var folder = System.IO.Path.Combine(ShippedFolder, "encoders");
        var manifest = System.IO.Path.Combine(folder, nameOrPath, "weights_manifest.json");
        bool looksLikeName = nameOrPath.Length > 0 && nameOrPath.IndexOfAny(['/', '\\', '.']) < 0;
        if (looksLikeName && System.IO.File.Exists(manifest)) return manifest;
        if (looksLikeName && ShippedNames.Contains(nameOrPath)) return Parse(nameOrPath).TrainableWeights();
        var names = Directory.Exists(folder) ? Directory.EnumerateDirectories(folder).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal).ToList() : [];
        var models = ShippedNames;
        throw new FileNotFoundException($"{nameOrPath}: no such weights manifest, model file, shipped encoder (shipped: {(names.Count > 0 ? string.Join(", ", names) : "none")}) or shipped model ({(models.Count > 0 ? string.Join(", ", models) : "none")}).", nameOrPath);
    }

    /// <summary>Tells a .munet from an .onnx by content: the weights magic, or else a parseable ONNX protobuf.</summary>
    public static ModelFileKind Sniff(string path)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder, not a model file (.munet or .onnx).");
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file.", path);
        Span<byte> head = stackalloc byte[8];
        using (var stream = System.IO.File.OpenRead(path))
        {
            int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            if (read == 0) throw new InvalidDataException($"{path}: empty file (0 bytes), not a model.");
            if (read == head.Length && WeightsFormat.HasMagic(head)) return ModelFileKind.Weights;
            // A TFLite flatbuffer carries its identifier after the root offset: say how to use it instead of failing as ONNX.
            if (read == head.Length && head[4..].SequenceEqual("TFL3"u8))
                throw new InvalidDataException($"{path}: a TFLite model; import it first: mobileunet import {path} -o MODEL.onnx");
        }
        return ModelFileKind.Onnx;
    }

    /// <summary>The file a backend runs: a shipped model's ONNX export for ONNX Runtime, its weights for torch.</summary>
    string PathFor(Backend backend) => this switch
    {
        File f => f.Path,
        Shipped { OnnxPath: { } onnx } when backend == Backend.Onnx => onnx,
        Shipped { WeightsPath: { } weights } => weights,
        Shipped s => throw new FileNotFoundException(
            $"{s.Name}: this build ships the model as ONNX only; its {WeightsFormat.Extension} weights (torch backend, fine-tuning) travel with MobileUNet.Training."),
        _ => throw new InvalidOperationException($"{Label} has no file."),
    };

    /// <summary>The .munet behind this source: what the torch backend runs and training starts from.</summary>
    public string TrainableWeights()
    {
        var path = PathFor(Backend.Torch);
        return Sniff(path) == ModelFileKind.Weights ? path
            : throw new ArgumentException($"{path}: the torch backend and training need a {WeightsFormat.Extension} weights file, not an ONNX export.");
    }

    /// <summary>The spec from the weights header or the ONNX metadata, without loading the network.</summary>
    public ModelSpec ReadSpec() => this switch
    {
        Untrained u => u.Spec,
        _ => PathFor(Backend.Onnx) is var path && Sniff(path) == ModelFileKind.Weights
            ? WeightsFormat.ReadHeader(path).Spec
            : ReadOnnxMetadata(path).Spec,
    };

    /// <summary>ONNX bytes to run: the file as it is, or a .munet / untrained model exported in memory.</summary>
    public (byte[] Bytes, string Source) OnnxBytes()
    {
        if (this is not Untrained)
        {
            var path = PathFor(Backend.Onnx);
            if (Sniff(path) == ModelFileKind.Onnx) return (System.IO.File.ReadAllBytes(path), path);
        }
        return RequireWeightsRuntime().ExportOnnx(this);
    }

    /// <summary>Opens a segmenter on <paramref name="backend"/> with the default runtime settings.</summary>
    public ISegmenter Open(Backend backend) => Open(new RuntimeOptions { Backend = backend });

    /// <summary>Opens a segmenter on the backend, execution provider and threads of <paramref name="runtime"/>.</summary>
    public ISegmenter Open(RuntimeOptions runtime)
    {
        if (runtime.Backend == Backend.Torch) return RequireWeightsRuntime().Open(this, runtime);
        var (bytes, source) = OnnxBytes();
        return OnnxSegmenter.FromBytes(bytes, source, runtime);
    }

    // MobileUNet.Training's implementation, found by name so that this library does not reference it (nor TorchSharp):
    // an application that references MobileUNet.Training has it beside this assembly.
    static readonly Lazy<IWeightsRuntime?> weightsRuntime = new(() =>
        Type.GetType("MobileUNet.Inference.TorchModels, MobileUNet.Training") is { } type
            ? (IWeightsRuntime?)Activator.CreateInstance(type)
            : null);

    IWeightsRuntime RequireWeightsRuntime() => weightsRuntime.Value ?? throw new NotSupportedException(
        $"{Label}: {(this is Untrained ? "an untrained model needs" : $"{WeightsFormat.Extension} weights need")} TorchSharp, which this application does not reference: " +
        $"add the MobileUNet.Training package, or run an ONNX export of the model (mobileunet export).");

    /// <summary>The metadata of an ONNX file this project wrote (export or import); fails naming the file otherwise.</summary>
    public static OnnxMetadata ReadOnnxMetadata(string path)
    {
        ModelProto proto;
        try { proto = ModelProto.Parser.ParseFrom(System.IO.File.ReadAllBytes(path)); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"{path}: neither a MobileUNet weights file nor an ONNX model ({e.Message})."); }
        return OnnxMetadata.FromProperties(proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value), path);
    }
}

/// <summary>
/// What opening a model needs from TorchSharp: MobileUNet.Training implements it (<c>TorchModels</c>), and
/// <see cref="ModelSource"/> uses it for .munet weights on the torch backend and for in-memory ONNX exports.
/// </summary>
internal interface IWeightsRuntime
{
    /// <summary>A torch segmenter over the source's weights (or untrained spec), on the runtime's threads.</summary>
    ISegmenter Open(ModelSource source, RuntimeOptions runtime);

    /// <summary>The source exported to ONNX in memory, and the file (or label) it came from.</summary>
    (byte[] Bytes, string Source) ExportOnnx(ModelSource source);
}
