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
    /// The depthwise stages b01..b13 of a spec's encoder, read from <see cref="Model.EncoderStages"/>. Consecutive
    /// stages of one shape (b07..b11) are listed once, as "b07-b11": timing the same shape five times would say
    /// nothing new.
    /// </summary>
    public static IReadOnlyList<BlockShape> EncoderStages(ModelSpec spec)
    {
        var stages = Model.EncoderStages.All;
        var shapes = new List<BlockShape>();
        for (int i = 0; i < stages.Count; i++)
        {
            var stage = stages[i];
            if (!stage.Depthwise) continue; // the conv block b00 only sets the side and width the first depthwise block reads
            var shape = new BlockShape(stage.Name, Model.EncoderStages.InputSide(i, spec.InputSize), Model.EncoderStages.InChannels(i, spec),
                stage.OutChannels(spec), stage.Stride);
            if (shapes.Count > 0 && SameShape(shapes[^1], shape))
                shapes[^1] = shape with { Stage = $"{shapes[^1].Stage.Split('-')[0]}-{stage.Name}" };
            else shapes.Add(shape);
        }
        return shapes;
    }

    static bool SameShape(BlockShape a, BlockShape b) =>
        a.InputSize == b.InputSize && a.InChannels == b.InChannels && a.OutChannels == b.OutChannels && a.Stride == b.Stride;
}
