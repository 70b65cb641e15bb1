using Google.Protobuf;
using MobileUNet.Model;
using MobileUNet.Platform;
using Onnx;
using MobileUNet.Data;

namespace MobileUNet.Export.Tflite;

/// <summary>How an imported model is described to its consumers (the .tflite file itself does not say).</summary>
public sealed record TfliteImportOptions
{
    /// <summary>The input normalisation the model expects; MediaPipe's segmenters take RGB in [0, 1].</summary>
    public Normalization Normalization { get; init; } = Normalization.UnitRange;

    /// <summary>Probability above which a pixel is foreground, recorded for consumers.</summary>
    public float Threshold { get; init; } = 0.5f;

    /// <summary>The architecture name in the spec and labels; null takes the file name (e.g. <c>selfie_segmentation</c>).</summary>
    public string? Architecture { get; init; }
}

/// <summary>What an import wrote: the spec recorded, and the size of the network.</summary>
public sealed record TfliteImportSummary(ModelSpec Spec, int Operators, long Parameters, long Macs, IReadOnlyDictionary<string, int> OperatorCounts);

/// <summary>
/// Imports a TFLite segmentation model (MediaPipe selfie segmentation and its kind) as an ONNX model that the rest
/// of the project runs like any export: NCHW float32, input <c>image</c> [N,3,S,S], output <c>mask</c> [N,1,S,S]
/// probabilities, and the same metadata (a foreign-architecture <see cref="ModelSpec"/>, the normalisation, the
/// threshold). Supported ops: CONV_2D, DEPTHWISE_CONV_2D, HARD_SWISH, RELU, LOGISTIC, ADD, MUL, AVERAGE_POOL_2D,
/// MEAN, RESIZE_BILINEAR and MediaPipe's custom <c>Convolution2DTransposeBias</c>; any other fails naming it.
/// </summary>
public static class TfliteImporter
{
    /// <summary>Reads <paramref name="tflitePath"/> and writes the ONNX model atomically to <paramref name="onnxPath"/>.</summary>
    public static TfliteImportSummary Import(string tflitePath, string onnxPath, TfliteImportOptions? options = null)
    {
        if (string.Equals(Path.GetFullPath(tflitePath), Path.GetFullPath(onnxPath), StringComparison.Ordinal))
            throw new ArgumentException($"{onnxPath}: the output would overwrite the input; choose another -o.");
        var (proto, summary) = Convert(TfliteModel.Read(tflitePath), options);
        AtomicFile.WriteAllBytes(onnxPath, proto.ToByteArray());
        return summary;
    }

    /// <summary>The ONNX model of a read TFLite model.</summary>
    public static (ModelProto Model, TfliteImportSummary Summary) Convert(string tflitePath, TfliteImportOptions? options = null) =>
        Convert(TfliteModel.Read(tflitePath), options);

    internal static (ModelProto Model, TfliteImportSummary Summary) Convert(TfliteModel model, TfliteImportOptions? options)
    {
        options ??= new TfliteImportOptions();
        var architecture = options.Architecture ?? ArchitectureName(model.Source);
        var graph = new GraphProto { Name = $"{architecture}-imported" };
        var converter = new TfliteGraphConverter(model, new OnnxGraphBuilder(graph, OnnxElementType.Float));
        int size;
        try
        {
            size = converter.Convert();
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or OverflowException or KeyNotFoundException)
        {
            // A corrupt graph the checks above did not foresee still ends as one error naming the file.
            throw new InvalidDataException($"{model.Source}: not a graph the TFLite importer can read ({e.Message}).", e);
        }

        var spec = ModelSpec.Foreign(architecture, size);
        var proto = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "MobileUNet.NET",
            ProducerVersion = typeof(TfliteImporter).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = $"Imported from {Path.GetFileName(model.Source)} (TFLite schema {model.Version}{(model.Description is { Length: > 0 } d ? ", " + d : "")}).",
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxExporter.Opset });
        var metadata = new OnnxMetadata(spec, options.Normalization, options.Threshold, OnnxPart.Full, OnnxPrecision.Fp32)
        {
            Parameters = converter.Parameters,
            Macs = converter.Macs,
        };
        foreach (var (key, value) in metadata.ToProperties())
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        var counts = converter.OperatorCounts.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value);
        return (proto, new TfliteImportSummary(spec, counts.Values.Sum(), converter.Parameters, converter.Macs, counts));
    }

    // "selfie_segmentation.tflite" -> "selfie_segmentation": a label token (ModelSpec checks the characters).
    static string ArchitectureName(string path)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
        var token = new string([.. stem.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')]);
        return token.Length is > 0 and <= 64 ? token : "tflite";
    }
}
