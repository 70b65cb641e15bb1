using Google.Protobuf;
using MobileUNet.Export;
using MobileUNet.Model;
using MobileUNet.Platform;
using TorchTensor = TorchSharp.torch.Tensor;
using static TorchSharp.torch;

namespace MobileUNet.Benchmarks;

/// <summary>
/// The ONNX graphs the speed study times: a part of a MobileUNet, or one conv or depthwise block at an encoder
/// stage's shape. The onnx backend times these in process; `serve` hands the same bytes to the browser bench page.
/// </summary>
internal static class BenchExports
{
    /// <summary>The export of one part of an untrained network of <paramref name="spec"/> (speed needs no training).</summary>
    public static byte[] Untrained(ModelSpec spec, BenchPart part)
    {
        TorchNativeLoader.EnsureLoadable();
        using var net = new Model.MobileUNet(spec);
        return Part(net, part);
    }

    /// <summary>
    /// The export of one part of <paramref name="net"/>, in eval mode (BN folded with its running statistics), in a
    /// precision and transposed-conv form (null: the export's default for the precision). int8 quantises the whole
    /// model only, calibrated on <see cref="Int8Calibration.Default"/>.
    /// </summary>
    public static byte[] Part(Model.MobileUNet net, BenchPart part, OnnxPrecision precision = OnnxPrecision.Fp32, TransposedConvForm? form = null)
    {
        net.eval();
        return OnnxExporter.ToBytes(net, new OnnxExportOptions { Part = ToOnnx(part), Precision = precision, TransposedConvForm = form });
    }

    /// <summary>One untrained block alone, written by the same code as the whole network.</summary>
    public static byte[] Block(BlockShape shape, BlockKind kind)
    {
        TorchNativeLoader.EnsureLoadable();
        using nn.Module<TorchTensor, TorchTensor> block = kind == BlockKind.Conv
            ? new ConvBlock(shape.Stage, shape.InChannels, shape.OutChannels, shape.Stride)
            : new DepthwiseBlock(shape.Stage, shape.InChannels, shape.OutChannels, shape.Stride);
        return OnnxExporter.BuildBlock(block, shape.InChannels, shape.InputSize, shape.Stride).ToByteArray();
    }

    /// <summary>The exporter's name for a timed part: the whole model is its "full" export.</summary>
    public static OnnxPart ToOnnx(BenchPart part) => part switch
    {
        BenchPart.Encoder => OnnxPart.Encoder,
        BenchPart.Decoder => OnnxPart.Decoder,
        _ => OnnxPart.Full,
    };

    public static BenchPart FromOnnx(OnnxPart part) => part switch
    {
        OnnxPart.Encoder => BenchPart.Encoder,
        OnnxPart.Decoder => BenchPart.Decoder,
        _ => BenchPart.Model,
    };
}
