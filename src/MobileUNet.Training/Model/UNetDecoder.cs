using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// The U-Net decoder: four x2 upsamplings, each concatenated with the encoder skip of the same resolution and
/// fused by a depthwise block (b14..b17); then b00's features joined without upsampling and fused by a full
/// 3x3 conv block (b18); then the head: 1x1 conv (with bias) to one channel and bilinear x2 to S x S.
/// Returns logits (the loss wants them; sigmoid is applied by <see cref="MobileUNet.Predict"/>).
/// </summary>
public sealed class UNetDecoder : NativeModule<EncoderFeatures, Tensor>
{
    readonly UpBlock up1, up2, up3, up4;
    readonly DepthwiseBlock b14, b15, b16, b17;
    readonly ConvBlock b18;
    readonly Conv2d head;

    public UNetDecoder(ModelSpec spec) : base("decoder")
    {
        Spec = spec;
        up1 = new UpBlock("up1", spec.C(1024), spec.C(512), spec.Upsampling);
        b14 = new DepthwiseBlock("b14", 2 * spec.C(512), spec.U(512));
        up2 = new UpBlock("up2", spec.U(512), spec.C(256), spec.Upsampling);
        b15 = new DepthwiseBlock("b15", 2 * spec.C(256), spec.U(256));
        up3 = new UpBlock("up3", spec.U(256), spec.C(128), spec.Upsampling);
        b16 = new DepthwiseBlock("b16", 2 * spec.C(128), spec.U(128));
        up4 = new UpBlock("up4", spec.U(128), spec.C(64), spec.Upsampling);
        b17 = new DepthwiseBlock("b17", 2 * spec.C(64), spec.U(64));
        b18 = new ConvBlock("b18", spec.U(64) + spec.C(32), spec.U(32));
        head = nn.Conv2d(spec.U(32), 1, kernel_size: 1, bias: true);
        RegisterComponents();
    }

    public ModelSpec Spec { get; }

    public override Tensor forward(EncoderFeatures features) => Forward(features, null);

    internal Tensor Forward(EncoderFeatures f, LayerObserver? observe)
    {
        Tensor Run(nn.Module<Tensor, Tensor> block, string kind, Tensor input)
        {
            var output = block.forward(input);
            observe?.Invoke(block.GetName(), kind, block, input, output);
            return output;
        }

        Tensor Concat(string name, Tensor up, Tensor skip)
        {
            var output = cat([up, skip], dim: 1);
            observe?.Invoke(name, "concat", null, up, output);
            return output;
        }

        string upKind = Spec.Upsampling switch
        {
            Upsampling.TransposedConv => "transposed conv",
            Upsampling.BilinearConv => "bilinear x2 + conv",
            _ => "nearest x2 + conv",
        };

        Tensor Stage(int index, UpBlock up, DepthwiseBlock fuse, Tensor input, Tensor skip)
        {
            using var u = Run(up, upKind, input);
            using var c = Concat($"cat{index}", u, skip);
            return Run(fuse, "depthwise block", c);
        }

        using var s14 = Stage(1, up1, b14, f.B13, f.B11);
        using var s15 = Stage(2, up2, b15, s14, f.B05);
        using var s16 = Stage(3, up3, b16, s15, f.B03);
        using var s17 = Stage(4, up4, b17, s16, f.B01);
        using var c5 = Concat("cat5", s17, f.B00);
        using var s18 = Run(b18, "conv block", c5);
        using var logits = head.forward(s18);
        observe?.Invoke("head", "conv 1x1", head, s18, logits);
        var full = nn.functional.interpolate(logits, scale_factor: [2.0, 2.0], mode: InterpolationMode.Bilinear, align_corners: false);
        observe?.Invoke("resize", "bilinear x2", null, logits, full);
        return full;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var m in new nn.Module[] { up1, up2, up3, up4, b14, b15, b16, b17, b18, head }) m.Dispose();
        base.Dispose(disposing);
    }
}
