namespace MobileUNet.Model;

/// <summary>
/// One stage of the MobileNet v1 encoder: its name (the module's name, so its state-dict keys are
/// <c>encoder.NAME.*</c>), its output width before alpha, its stride, whether the decoder reads its output as a
/// skip, and whether it is a depthwise-separable block (every stage but the first, a full 3x3 conv block).
/// </summary>
internal sealed record EncoderStage(string Name, int Width, int Stride, bool Skip, bool Depthwise = true)
{
    /// <summary>Output channels at a spec: c(width).</summary>
    public int OutChannels(ModelSpec spec) => spec.C(Width);

    /// <summary>Side of the output for an input side (3x3 kernel, padding 1).</summary>
    public int OutputSide(int inputSide) => (inputSide - 1) / Stride + 1;

    /// <summary>What the model summary and the layer observer call this kind of block.</summary>
    public string Kind => Depthwise ? "depthwise block" : "conv block";
}

/// <summary>
/// The encoder written once (section 2 of the design notes), as torchvision writes MobileNet v2 from its
/// <c>inverted_residual_setting</c>: the modules, the ONNX exporter, the model summary and the block study all
/// read this table rather than restating widths, strides and skips.
/// </summary>
internal static class EncoderStages
{
    /// <summary>Image channels the first stage reads (RGB).</summary>
    public const int ImageChannels = 3;

    /// <summary>b00..b13 in forward order.</summary>
    public static IReadOnlyList<EncoderStage> All { get; } =
    [
        new("b00", 32, 2, Skip: true, Depthwise: false),
        new("b01", 64, 1, Skip: true),
        new("b02", 128, 2, Skip: false),
        new("b03", 128, 1, Skip: true),
        new("b04", 256, 2, Skip: false),
        new("b05", 256, 1, Skip: true),
        new("b06", 512, 2, Skip: false),
        new("b07", 512, 1, Skip: false),
        new("b08", 512, 1, Skip: false),
        new("b09", 512, 1, Skip: false),
        new("b10", 512, 1, Skip: false),
        new("b11", 512, 1, Skip: true),
        new("b12", 1024, 2, Skip: false),
        new("b13", 1024, 1, Skip: false),
    ];

    /// <summary>
    /// The encoder's outputs the decoder reads, in forward order: the skips, then the last stage (the bottleneck
    /// the decoder starts from). <see cref="EncoderFeatures"/> holds them in this order.
    /// </summary>
    public static IReadOnlyList<EncoderStage> Features { get; } = [.. All.Where(s => s.Skip), All[^1]];

    /// <summary>Whether a layer name (as the summary and the observer report it) is an encoder stage.</summary>
    public static bool Contains(string name) => All.Any(s => s.Name == name);

    /// <summary>Input channels of stage <paramref name="index"/> at a spec: the image's, then the previous stage's output.</summary>
    public static int InChannels(int index, ModelSpec spec) => index == 0 ? ImageChannels : All[index - 1].OutChannels(spec);

    /// <summary>Side of the input stage <paramref name="index"/> reads, for a square image of <paramref name="inputSize"/>.</summary>
    public static int InputSide(int index, int inputSize)
    {
        int side = inputSize;
        for (int i = 0; i < index; i++) side = All[i].OutputSide(side);
        return side;
    }

    /// <summary>Channels, height and width of each of <see cref="Features"/> at a spec (batch left out).</summary>
    public static IReadOnlyList<long[]> FeatureShapes(ModelSpec spec) =>
    [
        .. Features.Select(f =>
        {
            int index = IndexOf(f.Name);
            int side = f.OutputSide(InputSide(index, spec.InputSize));
            return new long[] { f.OutChannels(spec), side, side };
        }),
    ];

    static int IndexOf(string name)
    {
        for (int i = 0; i < All.Count; i++)
            if (All[i].Name == name) return i;
        throw new ArgumentException($"'{name}' is not an encoder stage.", nameof(name));
    }
}
