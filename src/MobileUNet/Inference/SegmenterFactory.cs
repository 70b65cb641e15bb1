using System.Text.Json.Nodes;
using MobileUNet.Export;
using MobileUNet.Model;

namespace MobileUNet.Inference;

/// <summary>Which runtime runs a model: ONNX Runtime (the deploy path, fast) or TorchSharp (the training runtime).</summary>
public enum Backend { Onnx, Torch }

/// <summary>Opens a model (.onnx export, .munet weights, shipped name or untrained spec) with the chosen backend.</summary>
public static class SegmenterFactory
{
    /// <summary>The key of <see cref="WeightsHeader.Extra"/> that holds the training normalisation.</summary>
    public const string NormalizationKey = "normalization";

    /// <summary>Opens a model file or shipped model name (see <see cref="ModelSource.Parse"/>).</summary>
    public static ISegmenter Open(string pathOrName, Backend backend, OnnxSegmenterOptions? onnxOptions = null) =>
        ModelSource.Parse(pathOrName).Open(backend, onnxOptions);

    /// <summary>
    /// An untrained model of <paramref name="spec"/> from a fixed seed: enough for speed work (speed needs no
    /// training), and repeatable.
    /// </summary>
    public static ISegmenter OpenUntrained(ModelSpec spec, Backend backend, OnnxSegmenterOptions? onnxOptions = null, long seed = 0) =>
        new ModelSource.Untrained(spec, seed).Open(backend, onnxOptions);

    public static Normalization NormalizationOf(JsonObject? extra) =>
        extra?[NormalizationKey] is { } node ? Normalization.FromJson(node) : Normalization.ImageNet;
}
