using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// The encoder's outputs the decoder needs: the skips at S/2 (b00, b01), S/4 (b03), S/8 (b05), S/16 (b11),
/// and the bottleneck at S/32 (b13). Owns its tensors.
/// </summary>
public sealed record EncoderFeatures(Tensor B00, Tensor B01, Tensor B03, Tensor B05, Tensor B11, Tensor B13) : IDisposable
{
    public IEnumerable<Tensor> All => [B00, B01, B03, B05, B11, B13];

    public void Dispose()
    {
        foreach (var t in All) t.Dispose();
    }
}

/// <summary>Observes each layer of a forward pass (name, module, input, output): the summary's view of the model.</summary>
public delegate void LayerObserver(string name, string kind, nn.Module? module, Tensor input, Tensor output);

/// <summary>MobileNet v1 without its classifier: a conv block and thirteen depthwise blocks, b00..b13.</summary>
public sealed class MobileNetEncoder : NativeModule<Tensor, EncoderFeatures>
{
    readonly ConvBlock b00;
    readonly DepthwiseBlock b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12, b13;

    public MobileNetEncoder(ModelSpec spec) : base("encoder")
    {
        Spec = spec;
        b00 = new ConvBlock("b00", 3, spec.C(32), stride: 2);
        b01 = new DepthwiseBlock("b01", spec.C(32), spec.C(64));
        b02 = new DepthwiseBlock("b02", spec.C(64), spec.C(128), stride: 2);
        b03 = new DepthwiseBlock("b03", spec.C(128), spec.C(128));
        b04 = new DepthwiseBlock("b04", spec.C(128), spec.C(256), stride: 2);
        b05 = new DepthwiseBlock("b05", spec.C(256), spec.C(256));
        b06 = new DepthwiseBlock("b06", spec.C(256), spec.C(512), stride: 2);
        b07 = new DepthwiseBlock("b07", spec.C(512), spec.C(512));
        b08 = new DepthwiseBlock("b08", spec.C(512), spec.C(512));
        b09 = new DepthwiseBlock("b09", spec.C(512), spec.C(512));
        b10 = new DepthwiseBlock("b10", spec.C(512), spec.C(512));
        b11 = new DepthwiseBlock("b11", spec.C(512), spec.C(512));
        b12 = new DepthwiseBlock("b12", spec.C(512), spec.C(1024), stride: 2);
        b13 = new DepthwiseBlock("b13", spec.C(1024), spec.C(1024));
        RegisterComponents();
    }

    public ModelSpec Spec { get; }

    public override EncoderFeatures forward(Tensor x) => Forward(x, null);

    internal EncoderFeatures Forward(Tensor x, LayerObserver? observe)
    {
        Tensor Run(nn.Module<Tensor, Tensor> block, string kind, Tensor input)
        {
            var output = block.forward(input);
            observe?.Invoke(block.GetName(), kind, block, input, output);
            return output;
        }

        const string conv = "conv block", dw = "depthwise block";
        var f00 = Run(b00, conv, x);
        var f01 = Run(b01, dw, f00);
        Tensor f03, f05, f11, f13;
        using (var f02 = Run(b02, dw, f01)) f03 = Run(b03, dw, f02);
        using (var f04 = Run(b04, dw, f03)) f05 = Run(b05, dw, f04);
        using (var f06 = Run(b06, dw, f05))
        using (var f07 = Run(b07, dw, f06))
        using (var f08 = Run(b08, dw, f07))
        using (var f09 = Run(b09, dw, f08))
        using (var f10 = Run(b10, dw, f09))
            f11 = Run(b11, dw, f10);
        using (var f12 = Run(b12, dw, f11)) f13 = Run(b13, dw, f12);
        return new EncoderFeatures(f00, f01, f03, f05, f11, f13);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var b in new nn.Module[] { b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12, b13 }) b.Dispose();
        base.Dispose(disposing);
    }
}
