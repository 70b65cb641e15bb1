using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// The network's dense 3x3 and 2x2 stride-2 transposed convolutions in forms that libtorch's oneDNN kernels get
/// right on CPUs where its plain dense kernels do not (TorchCpuBackend's probe). Measured on this machine kind
/// (libtorch 2.10, oneDNN 3.7.1, AVX-512 Zen 4) against float64: a dense 3x3 convolution's output is wrong when
/// its input channel count is not a multiple of 16 (60, 36, 24, 20 off by 20-40%; 3 and 12 right), and its input
/// gradient when its output channel count is not (b18's 32 -> 8 off by 74%); padded with zero channels to whole
/// 16-channel blocks, every case tried was right, forward and backward. A transposed convolution's input
/// gradient was off too (60 &lt;- 18); as one 1x1 convolution and a depth-to-space shuffle it is right. Same
/// weights, same result to float rounding, so the export, checkpoints and summary never see the difference.
/// </summary>
internal static class ComposedConvolution
{
    const long Block = 16;

    /// <summary>Whether <paramref name="x"/> should take these forms (CPU tensors, where the probe asked for them).</summary>
    public static bool Active(Tensor x) =>
        x.device_type == TorchSharp.DeviceType.CPU && Platform.TorchCpuBackend.Status is { ComposedConvolutions: true };

    /// <summary>A 3x3 convolution, padding 1, with its input and output channels padded with zeros to multiples of 16.</summary>
    public static Tensor Dense3x3(Tensor x, Tensor weight, Tensor? bias, long stride)
    {
        long inChannels = weight.shape[1], outChannels = weight.shape[0];
        long inPad = RoundUp(inChannels) - inChannels, outPad = RoundUp(outChannels) - outChannels;
        using var scope = NewDisposeScope();
        // Zero input channels meet zero weights, and the zero output channels are cut off: the sum is unchanged.
        var input = inPad > 0 ? nn.functional.pad(x, [0, 0, 0, 0, 0, inPad]) : x;
        var w = inPad > 0 || outPad > 0 ? nn.functional.pad(weight, [0, 0, 0, 0, 0, inPad, 0, outPad]) : weight;
        var y = nn.functional.conv2d(input, w, bias: null, strides: [stride, stride], padding: [1, 1]);
        if (outPad > 0) y = y.narrow(1, 0, outChannels);
        if (bias is not null) y = y.add(bias.reshape(1, -1, 1, 1), HeldScalars.One);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A 2x2 stride-2 transposed convolution (no overlap between outputs) as one 1x1 convolution to four times
    /// the output channels, then a depth-to-space shuffle: output (o, 2h + i, 2w + j) is
    /// sum over c of x(c, h, w) * weight(c, o, i, j) + bias(o). <paramref name="weight"/> is ConvTranspose2d's [in, out, 2, 2].
    /// </summary>
    public static Tensor Transposed2x2(Tensor x, Tensor weight, Tensor? bias)
    {
        long outChannels = weight.shape[1];
        using var scope = NewDisposeScope();
        // [in, out, i, j] -> [out, i, j, in] -> [out*4 + i*2 + j, in, 1, 1]: pixel_shuffle's channel order.
        var pointwise = weight.permute(1, 2, 3, 0).reshape(outChannels * 4, weight.shape[0], 1, 1);
        var y = nn.functional.pixel_shuffle(nn.functional.conv2d(x, pointwise), 2);
        if (bias is not null) y = y.add(bias.reshape(1, -1, 1, 1), HeldScalars.One);
        return y.MoveToOuterDisposeScope();
    }

    static long RoundUp(long channels) => (channels + Block - 1) / Block * Block;
}
