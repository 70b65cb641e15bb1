using MobileUNet.Model;

namespace MobileUNet.Benchmarks;

/// <summary>
/// The shape one encoder stage runs at: input side, channels in and out, stride. The block study times a
/// regular 3x3 conv block and a depthwise-separable block at exactly these shapes.
/// </summary>
public sealed record BlockShape(string Stage, int InputSize, int InChannels, int OutChannels, int Stride)
{
    /// <summary>Side of the block's output (3x3, padding 1).</summary>
    public int OutputSize => (InputSize - 1) / Stride + 1;

    long OutPixels => (long)OutputSize * OutputSize;

    /// <summary>MACs of a 3x3 convolution from InChannels to OutChannels.</summary>
    public long ConvMacs => 9L * InChannels * OutChannels * OutPixels;

    /// <summary>MACs of a 3x3 depthwise convolution then a 1x1 pointwise one.</summary>
    public long DepthwiseMacs => (9L * InChannels + (long)InChannels * OutChannels) * OutPixels;

    /// <summary>Trainable parameters: conv weights plus BN scale and shift.</summary>
    public long ConvParameters => 9L * InChannels * OutChannels + 2L * OutChannels;
    public long DepthwiseParameters => 9L * InChannels + 2L * InChannels + (long)InChannels * OutChannels + 2L * OutChannels;

    public long Macs(BlockKind kind) => kind == BlockKind.Conv ? ConvMacs : DepthwiseMacs;
    public long Parameters(BlockKind kind) => kind == BlockKind.Conv ? ConvParameters : DepthwiseParameters;

    /// <summary>
    /// The depthwise stages b01..b13 of a spec's encoder. b07..b11 share one shape, so it is listed once as
    /// "b07-b11" (timing it five times would say nothing new).
    /// </summary>
    public static IReadOnlyList<BlockShape> EncoderStages(ModelSpec spec)
    {
        int s = spec.InputSize / 2; // b00 halves the image before the first depthwise block
        var stages = new (string Name, int Out, int Stride)[]
        {
            ("b01", 64, 1), ("b02", 128, 2), ("b03", 128, 1), ("b04", 256, 2), ("b05", 256, 1),
            ("b06", 512, 2), ("b07-b11", 512, 1), ("b12", 1024, 2), ("b13", 1024, 1),
        };
        var shapes = new List<BlockShape>();
        int inChannels = spec.C(32);
        foreach (var (name, width, stride) in stages)
        {
            var shape = new BlockShape(name, s, inChannels, spec.C(width), stride);
            shapes.Add(shape);
            s = shape.OutputSize;
            inChannels = shape.OutChannels;
        }
        return shapes;
    }
}
