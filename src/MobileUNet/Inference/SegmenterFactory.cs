using System.Text.Json.Nodes;
using MobileUNet.Export;
using MobileUNet.Model;
using MobileUNet.Data;

namespace MobileUNet.Inference;

/// <summary>Opens a model (.onnx export, .munet weights, shipped name or untrained spec) with the chosen backend.</summary>
public static class SegmenterFactory
{
    /// <summary>The key of <see cref="WeightsHeader.Extra"/> that holds the training normalisation.</summary>
    public const string NormalizationKey = "normalization";

    /// <summary>Opens a model file or shipped model name (see <see cref="ModelSource.Parse"/>).</summary>
    public static ISegmenter Open(string pathOrName, Backend backend) => Open(pathOrName, new RuntimeOptions { Backend = backend });

    /// <summary>Opens a model file or shipped model name with these runtime settings.</summary>
    public static ISegmenter Open(string pathOrName, RuntimeOptions runtime) =>
        ModelSource.Parse(pathOrName).Open(runtime);

    /// <summary>
    /// An untrained model of <paramref name="spec"/> from a fixed seed: enough for speed work (speed needs no
    /// training), and repeatable.
    /// </summary>
    public static ISegmenter OpenUntrained(ModelSpec spec, RuntimeOptions runtime, long seed = 0) =>
        new ModelSource.Untrained(spec, seed).Open(runtime);

    public static Normalization NormalizationOf(JsonObject? extra) =>
        extra?[NormalizationKey] is { } node ? Normalization.FromJson(node) : Normalization.ImageNet;
}
