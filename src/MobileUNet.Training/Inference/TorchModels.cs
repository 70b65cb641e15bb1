using MobileUNet.Data;
using MobileUNet.Export;
using MobileUNet.Model;
using MobileUNet.Platform;

namespace MobileUNet.Inference;

/// <summary>
/// The torch side of <see cref="ModelSource"/>: loads .munet weights or builds an untrained spec (making the native
/// libraries loadable first, then seeding), runs it on the torch backend, or exports it to ONNX in memory. The
/// inference library finds this type by name when this assembly is present.
/// </summary>
internal sealed class TorchModels : IWeightsRuntime
{
    public ISegmenter Open(ModelSource source, RuntimeOptions runtime)
    {
        var (model, normalization) = source.LoadTorch();
        TorchNativeLoader.SetThreads(runtime.Threads);
        return new TorchSegmenter(model, normalization, ownsModel: true);
    }

    public (byte[] Bytes, string Source) ExportOnnx(ModelSource source)
    {
        var (model, normalization) = source.LoadTorch();
        using (model)
            return (OnnxExporter.ToBytes(model, new OnnxExportOptions { Normalization = normalization }),
                source is ModelSource.Untrained ? source.Label : source.TrainableWeights());
    }
}

/// <summary>Torch modules from a <see cref="ModelSource"/>: what training, export and the torch bench start from.</summary>
internal static class ModelSourceTorch
{
    /// <summary>A torch module with its training normalisation (weights files and untrained specs only).</summary>
    public static (Model.MobileUNet Model, Normalization Normalization) LoadTorch(this ModelSource source)
    {
        TorchNativeLoader.EnsureLoadable();
        if (source is ModelSource.Untrained u)
        {
            return (new Model.MobileUNet(u.Spec, u.Seed), Normalization.ImageNet);
        }
        var path = source.TrainableWeights();
        var (model, header) = WeightsFile.Load(path);
        try { return (model, SegmenterFactory.NormalizationOf(header.Extra)); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            model.Dispose();
            throw new InvalidDataException($"{path}: unreadable normalization in the header ({e.Message}).");
        }
    }
}
