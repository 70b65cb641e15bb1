using System.Text.Json.Nodes;
using MobileUNet.Export;
using MobileUNet.Model;

namespace MobileUNet.Inference;

/// <summary>Which runtime runs a model: ONNX Runtime (the deploy path, fast) or TorchSharp (the training runtime).</summary>
public enum Backend { Onnx, Torch }

/// <summary>Opens a model file (.onnx export or .munet weights) with the chosen backend.</summary>
public static class SegmenterFactory
{
    /// <summary>The key of <see cref="WeightsHeader.Extra"/> that holds the training normalisation.</summary>
    public const string NormalizationKey = "normalization";

    public static ISegmenter Open(string path, Backend backend, OnnxSegmenterOptions? onnxOptions = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file.", path);
        bool isWeights = string.Equals(Path.GetExtension(path), WeightsFile.Extension, StringComparison.OrdinalIgnoreCase);
        if (!isWeights)
        {
            if (backend == Backend.Torch)
                throw new ArgumentException($"{path}: the torch backend needs a {WeightsFile.Extension} weights file, not an ONNX export.");
            return OnnxSegmenter.Open(path, onnxOptions);
        }

        var (model, header) = WeightsFile.Load(path);
        var normalization = NormalizationOf(header.Extra);
        if (backend == Backend.Torch) return new TorchSegmenter(model, normalization, ownsModel: true);
        using (model)
        {
            // No file needed: the export happens in memory and ONNX Runtime loads the bytes.
            var bytes = OnnxExporter.ToBytes(model, new OnnxExportOptions { Normalization = normalization });
            return OnnxSegmenter.FromBytes(bytes, path, onnxOptions);
        }
    }

    /// <summary>
    /// An untrained model of <paramref name="spec"/> from a fixed seed: enough for speed work (speed needs no
    /// training), and repeatable.
    /// </summary>
    public static ISegmenter OpenUntrained(ModelSpec spec, Backend backend, OnnxSegmenterOptions? onnxOptions = null, long seed = 0)
    {
        TorchSharp.torch.manual_seed(seed);
        var model = new Model.MobileUNet(spec);
        if (backend == Backend.Torch) return new TorchSegmenter(model, Normalization.ImageNet, ownsModel: true);
        using (model)
        {
            var bytes = OnnxExporter.ToBytes(model, new OnnxExportOptions { Normalization = Normalization.ImageNet });
            return OnnxSegmenter.FromBytes(bytes, $"untrained {spec.Label}", onnxOptions);
        }
    }

    public static Normalization NormalizationOf(JsonObject? extra) =>
        extra?[NormalizationKey] is { } node ? Normalization.FromJson(node) : Normalization.ImageNet;
}
