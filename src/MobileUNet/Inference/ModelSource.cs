using Google.Protobuf;
using MobileUNet.Export;
using MobileUNet.Model;
using MobileUNet.Platform;
using Onnx;
using MobileUNet.Data;

namespace MobileUNet.Inference;

/// <summary>What a model file holds, told from its first bytes (never from its extension alone).</summary>
public enum ModelFileKind { Weights, Onnx }

/// <summary>
/// Where a model comes from: a file (.munet weights or an .onnx export), a model shipped with the library by name
/// (<c>person</c>, <c>hair</c>), or an untrained spec plus seed (speed work needs no training). The one place that
/// sniffs a file's kind, reads its spec, makes the native libraries loadable, seeds the RNG, and yields a torch
/// module or ONNX bytes.
/// </summary>
public abstract record ModelSource
{
    ModelSource() { }

    /// <summary>A .munet or .onnx file.</summary>
    public sealed record File(string Path) : ModelSource
    {
        public override string Label => System.IO.Path.GetFileName(Path);
    }

    /// <summary>A model shipped in the <c>models/</c> folder beside the assembly.</summary>
    public sealed record Shipped(string Name, string WeightsPath, string? OnnxPath) : ModelSource
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

    /// <summary>The names of the models shipped with this build (a <c>NAME.munet</c> in <see cref="ShippedFolder"/>).</summary>
    public static IReadOnlyList<string> ShippedNames =>
        Directory.Exists(ShippedFolder)
            ? [.. Directory.EnumerateFiles(ShippedFolder, "*" + WeightsFile.Extension).Select(f => System.IO.Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)]
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
        var weights = System.IO.Path.Combine(ShippedFolder, nameOrPath + WeightsFile.Extension);
        if (!System.IO.File.Exists(weights))
        {
            var names = ShippedNames;
            throw new FileNotFoundException(names.Count > 0
                ? $"{nameOrPath}: no such model file or shipped model (shipped: {string.Join(", ", names)})."
                : $"{nameOrPath}: no such model file, and this build ships no models ({ShippedFolder} is empty or missing).", nameOrPath);
        }
        var onnx = System.IO.Path.Combine(ShippedFolder, nameOrPath + ".onnx");
        return new Shipped(nameOrPath, weights, System.IO.File.Exists(onnx) ? onnx : null);
    }

    /// <summary>
    /// A <c>--encoder-weights</c> argument: an existing TF.js weights manifest, or the name of a pretrained encoder
    /// shipped in <c>models/encoders/NAME/</c> (its <c>weights_manifest.json</c>).
    /// </summary>
    public static string PretrainedEncoderPath(string nameOrPath)
    {
        if (System.IO.File.Exists(nameOrPath)) return nameOrPath;
        var folder = System.IO.Path.Combine(ShippedFolder, "encoders");
        var manifest = System.IO.Path.Combine(folder, nameOrPath, "weights_manifest.json");
        if (nameOrPath.Length > 0 && nameOrPath.IndexOfAny(['/', '\\', '.']) < 0 && System.IO.File.Exists(manifest)) return manifest;
        var names = Directory.Exists(folder) ? Directory.EnumerateDirectories(folder).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal).ToList() : [];
        throw new FileNotFoundException($"{nameOrPath}: no such weights manifest or shipped encoder (shipped: {(names.Count > 0 ? string.Join(", ", names) : "none")}).", nameOrPath);
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
            if (read == head.Length && WeightsFile.HasMagic(head)) return ModelFileKind.Weights;
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
        Shipped s => backend == Backend.Onnx && s.OnnxPath is not null ? s.OnnxPath : s.WeightsPath,
        _ => throw new InvalidOperationException($"{Label} has no file."),
    };

    /// <summary>The .munet behind this source (training starts from weights, not from an export).</summary>
    public string TrainableWeights()
    {
        var path = PathFor(Backend.Torch);
        return Sniff(path) == ModelFileKind.Weights ? path
            : throw new ArgumentException($"{path}: fine-tuning needs a {WeightsFile.Extension} weights file, not an ONNX export.");
    }

    /// <summary>The spec from the weights header or the ONNX metadata, without loading the network.</summary>
    public ModelSpec ReadSpec() => this switch
    {
        Untrained u => u.Spec,
        Shipped s => WeightsFile.ReadHeader(s.WeightsPath).Spec,
        File f => Sniff(f.Path) == ModelFileKind.Weights ? WeightsFile.ReadHeader(f.Path).Spec : ReadOnnxMetadata(f.Path).Spec,
        _ => throw new InvalidOperationException(),
    };

    /// <summary>A torch module with its training normalisation (weights files and untrained specs only).</summary>
    public (Model.MobileUNet Model, Normalization Normalization) LoadTorch()
    {
        TorchNativeLoader.EnsureLoadable();
        switch (this)
        {
            case Untrained u:
                // Seed after EnsureLoadable: its probe convolution draws from torch's generator too.
                TorchSharp.torch.manual_seed(u.Seed);
                return (new Model.MobileUNet(u.Spec), Normalization.ImageNet);
            default:
                var path = PathFor(Backend.Torch);
                if (Sniff(path) != ModelFileKind.Weights)
                    throw new ArgumentException($"{path}: the torch backend and training need a {WeightsFile.Extension} weights file, not an ONNX export.");
                var (model, header) = WeightsFile.Load(path);
                try { return (model, SegmenterFactory.NormalizationOf(header.Extra)); }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
                {
                    model.Dispose();
                    throw new InvalidDataException($"{path}: unreadable normalization in the header ({e.Message}).");
                }
        }
    }

    /// <summary>ONNX bytes to run: the file as it is, or a .munet / untrained model exported in memory.</summary>
    public (byte[] Bytes, string Source) OnnxBytes()
    {
        if (this is not Untrained)
        {
            var path = PathFor(Backend.Onnx);
            if (Sniff(path) == ModelFileKind.Onnx) return (System.IO.File.ReadAllBytes(path), path);
        }
        var (model, normalization) = LoadTorch();
        using (model)
            return (OnnxExporter.ToBytes(model, new OnnxExportOptions { Normalization = normalization }), this is Untrained ? Label : PathFor(Backend.Torch));
    }

    /// <summary>Opens a segmenter on <paramref name="backend"/> with the default runtime settings.</summary>
    public ISegmenter Open(Backend backend) => Open(new RuntimeOptions { Backend = backend });

    /// <summary>Opens a segmenter on the backend, execution provider and threads of <paramref name="runtime"/>.</summary>
    public ISegmenter Open(RuntimeOptions runtime)
    {
        if (runtime.Backend == Backend.Torch)
        {
            var (model, normalization) = LoadTorch();
            runtime.ApplyTorchThreads();
            return new TorchSegmenter(model, normalization, ownsModel: true);
        }
        var (bytes, source) = OnnxBytes();
        return OnnxSegmenter.FromBytes(bytes, source, runtime);
    }

    /// <summary>The metadata of an ONNX file this project wrote (export or import); fails naming the file otherwise.</summary>
    public static OnnxMetadata ReadOnnxMetadata(string path)
    {
        ModelProto proto;
        try { proto = ModelProto.Parser.ParseFrom(System.IO.File.ReadAllBytes(path)); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"{path}: neither a MobileUNet weights file nor an ONNX model ({e.Message})."); }
        return OnnxMetadata.FromProperties(proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value), path);
    }
}
