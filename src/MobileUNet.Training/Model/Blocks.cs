using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>Keras' BatchNormalization defaults, which the original used (epsilon 1e-3).</summary>
static class Norm
{
    public const double Epsilon = 1e-3;
    /// <summary>torch's default running-statistics momentum, named so that <see cref="Forward"/> uses the value the layers were built with.</summary>
    public const double Momentum = 0.1;
    public static BatchNorm2d Of(long channels) => nn.BatchNorm2d(channels, eps: Epsilon, momentum: Momentum);

    /// <summary><paramref name="bn"/>.forward(<paramref name="x"/>) as TorchSharp computes it (momentum set, running statistics tracked), counting batches with a held scalar (TorchSharp's add_(1) is an implicit one: <see cref="HeldScalars"/>).</summary>
    public static Tensor Forward(BatchNorm2d bn, Tensor x)
    {
        if (bn.training) bn.num_batches_tracked?.add_(HeldScalars.One, alpha: HeldScalars.One);
        return nn.functional.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, bn.training,
            bn.momentum ?? throw new InvalidOperationException("a batch norm with a cumulative average (momentum null) is not supported"), bn.eps);
    }
}

/// <summary>Conv block: 3x3 convolution (no bias) -> BN -> ReLU6.</summary>
internal sealed class ConvBlock : NativeModule<Tensor, Tensor>
{
    readonly Conv2d conv;
    readonly BatchNorm2d bn;
    readonly ReLU6 relu;
    readonly long stride;

    public ConvBlock(string name, long inChannels, long outChannels, long stride = 1) : base(name)
    {
        this.stride = stride;
        conv = nn.Conv2d(inChannels, outChannels, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn = Norm.Of(outChannels);
        relu = nn.ReLU6();
        RegisterComponents();
    }

    public long OutChannels => conv.out_channels;

    public override Tensor forward(Tensor x)
    {
        // Where oneDNN's plain dense kernel is wrong here (TorchCpuBackend), in a form it gets right.
        using var c = ComposedConvolution.Active(x) ? ComposedConvolution.Dense3x3(x, conv.weight!, null, stride) : conv.forward(x);
        using var b = Norm.Forward(bn, c);
        return relu.forward(b);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { conv.Dispose(); bn.Dispose(); relu.Dispose(); }
        base.Dispose(disposing);
    }
}

/// <summary>Depthwise-separable block: 3x3 depthwise (no bias) -> BN -> ReLU6 -> 1x1 pointwise (no bias) -> BN -> ReLU6.</summary>
internal sealed class DepthwiseBlock : NativeModule<Tensor, Tensor>
{
    readonly Conv2d depthwise;
    readonly BatchNorm2d bn1;
    readonly ReLU6 relu1;
    readonly Conv2d pointwise;
    readonly BatchNorm2d bn2;
    readonly ReLU6 relu2;

    public DepthwiseBlock(string name, long inChannels, long outChannels, long stride = 1) : base(name)
    {
        depthwise = nn.Conv2d(inChannels, inChannels, kernel_size: 3, stride: stride, padding: 1, groups: inChannels, bias: false);
        bn1 = Norm.Of(inChannels);
        relu1 = nn.ReLU6();
        pointwise = nn.Conv2d(inChannels, outChannels, kernel_size: 1, bias: false);
        bn2 = Norm.Of(outChannels);
        relu2 = nn.ReLU6();
        RegisterComponents();
    }

    public long OutChannels => pointwise.out_channels;

    public override Tensor forward(Tensor x)
    {
        using var d = depthwise.forward(x);
        using var b1 = Norm.Forward(bn1, d);
        using var r1 = relu1.forward(b1);
        using var p = pointwise.forward(r1);
        using var b2 = Norm.Forward(bn2, p);
        return relu2.forward(b2);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { depthwise.Dispose(); bn1.Dispose(); relu1.Dispose(); pointwise.Dispose(); bn2.Dispose(); relu2.Dispose(); }
        base.Dispose(disposing);
    }
}

/// <summary>
/// Decoder upsampling x2: a 2x2 stride-2 transposed convolution with bias (the original), or a resize x2
/// followed by a 3x3 convolution with bias to the same width (for processors without a fast transposed conv).
/// </summary>
internal sealed class UpBlock : NativeModule<Tensor, Tensor>
{
    readonly Upsampling kind;
    readonly ConvTranspose2d? transposed;
    readonly Conv2d? conv;

    public UpBlock(string name, long inChannels, long outChannels, Upsampling kind) : base(name)
    {
        this.kind = kind;
        if (kind == Upsampling.TransposedConv)
            transposed = nn.ConvTranspose2d(inChannels, outChannels, kernel_size: 2, stride: 2, bias: true);
        else
            conv = nn.Conv2d(inChannels, outChannels, kernel_size: 3, padding: 1, bias: true);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // Where oneDNN's plain dense kernels are wrong here (TorchCpuBackend), both kinds in forms it gets right.
        bool composed = ComposedConvolution.Active(x);
        if (transposed is not null)
            return composed ? ComposedConvolution.Transposed2x2(x, transposed.weight!, transposed.bias) : transposed.forward(x);
        var mode = kind == Upsampling.BilinearConv ? InterpolationMode.Bilinear : InterpolationMode.Nearest;
        bool? alignCorners = kind == Upsampling.BilinearConv ? false : null;
        using var resized = nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: mode, align_corners: alignCorners);
        return composed ? ComposedConvolution.Dense3x3(resized, conv!.weight!, conv.bias, 1) : conv!.forward(resized);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) { transposed?.Dispose(); conv?.Dispose(); }
        base.Dispose(disposing);
    }
}
