using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// The network's dense 3x3 convolutions and 2x2 stride-2 transposed convolutions built from 1x1 convolutions,
/// for CPUs where libtorch's oneDNN kernels for those two get some channel counts wrong (TorchCpuBackend's
/// probe) while its 1x1 and depthwise kernels are right. Same weights, same result to float rounding, so the
/// export, the checkpoints and the summary never see the difference; only the kernels libtorch picks change.
/// </summary>
internal static class ComposedConvolution
{
    /// <summary>Whether <paramref name="x"/> should take the composed path (CPU tensors, where the probe asked for it).</summary>
    public static bool Active(Tensor x) =>
        x.device_type == TorchSharp.DeviceType.CPU && Platform.TorchCpuBackend.Status is { ComposedConvolutions: true };

    /// <summary>
    /// A 3x3 convolution, padding 1, as nine 1x1 convolutions over shifted views of the padded input, summed.
    /// Also faster than libtorch's own path when oneDNN is off: b18 at alpha 0.5 / 128, batch 16 (32 -> 8
    /// channels at 64x64) took 255-384 ms forward and ~900 ms forward + backward through libtorch's scalar
    /// im2col, and 23-37 ms / 210-320 ms as nine taps (1 and 2 threads, same process).
    /// </summary>
    public static Tensor Dense3x3(Tensor x, Tensor weight, Tensor? bias, long stride)
    {
        long outH = (x.shape[2] - 1) / stride + 1, outW = (x.shape[3] - 1) / stride + 1;
        using var scope = NewDisposeScope();
        var padded = nn.functional.pad(x, [1, 1, 1, 1]);
        Tensor? sum = null;
        for (int dy = 0; dy < 3; dy++)
            for (int dx = 0; dx < 3; dx++)
            {
                // Rows dy, dy + stride, ...: a stride-s 1x1 convolution over the view reads exactly those.
                var view = padded.narrow(2, dy, stride * (outH - 1) + 1).narrow(3, dx, stride * (outW - 1) + 1);
                var tap = nn.functional.conv2d(view, weight.narrow(2, dy, 1).narrow(3, dx, 1), strides: [stride, stride]);
                sum = sum is null ? tap : sum.add(tap, HeldScalars.One);
            }
        if (bias is not null) sum = sum!.add(bias.reshape(1, -1, 1, 1), HeldScalars.One);
        return sum!.MoveToOuterDisposeScope();
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
}
