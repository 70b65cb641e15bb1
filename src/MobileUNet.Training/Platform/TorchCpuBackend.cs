using TorchSharp;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MobileUNet.Platform;

/// <summary>What <see cref="TorchCpuBackend.Configure"/> found and chose for libtorch's CPU convolutions.</summary>
/// <param name="OneDnnMaxError">Largest |float32 - float64| of the dense probe convolution with oneDNN on.</param>
/// <param name="OneDnnEnabled">Whether libtorch may use oneDNN (mkldnn) for convolutions after the check.</param>
/// <param name="ComposedConvolutions">Whether the network runs its dense 3x3 and transposed convolutions in the
/// forms of Model.ComposedConvolution because the dense probe failed.</param>
/// <param name="ComposedMaxError">Largest relative error, output and both gradients, of those forms and of the 1x1
/// and depthwise convolutions with oneDNN on (0 when the dense probe passed and they were not needed).</param>
internal sealed record TorchCpuStatus(double OneDnnMaxError, bool OneDnnEnabled, bool ComposedConvolutions, double ComposedMaxError);

/// <summary>
/// Settings of libtorch's CPU context that TorchSharp has no binding for, reached through its exported C++
/// symbols (at::globalContext(), at::Context setters, c10's log level). Each is best-effort: where a symbol is
/// missing, nothing changes.
/// </summary>
internal static partial class TorchCpuBackend
{
    /// <summary>
    /// Sets OMP_WAIT_POLICY=PASSIVE in the native environment unless the user chose a policy; only effective
    /// before libtorch (and its bundled libgomp) is loaded, so the loader calls it first. Measured here (2 cores
    /// shared with other jobs, alpha 0.5 / 128, batch 16, 2 threads): libgomp's default spin-waiting made a
    /// training step 10-20x slower (0.4-0.6 img/s) than passive waiting (10-12 img/s), because spinning threads
    /// steal the cores their partners (and the video pipeline's other stages) need.
    /// </summary>
    internal static void PreferPassiveOpenMpWait()
    {
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE");
        // .NET keeps its own copy of the environment; libgomp reads the C runtime's.
        _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>Null until TorchSharp's native code has been loaded and checked.</summary>
    public static TorchCpuStatus? Status { get; private set; }

    internal static unsafe void Configure(string nativeDir)
    {
        var torchCpu = Path.Combine(nativeDir, "libtorch_cpu.so");
        var c10 = Path.Combine(nativeDir, "libc10.so");

        // NNPACK does not support this CPU kind (Zen 4); libtorch probes it on every eligible convolution and
        // logs "Could not initialize NNPACK! Reason: Unsupported hardware." each time. Those are LOG(WARNING)
        // lines, so raising c10's log threshold to ERROR silences them (TORCH_WARN goes elsewhere and stays).
        if (File.Exists(c10) && NativeLibrary.TryLoad(c10, out var c10Handle)
            && NativeLibrary.TryGetExport(c10Handle, "FLAGS_caffe2_log_level", out var logLevel))
            *(int*)logLevel = Math.Max(*(int*)logLevel, 2);

        IntPtr context = IntPtr.Zero, setMkldnn = IntPtr.Zero;
        if (File.Exists(torchCpu) && NativeLibrary.TryLoad(torchCpu, out var handle)
            && NativeLibrary.TryGetExport(handle, "_ZN2at13globalContextEv", out var globalContext))
        {
            context = ((delegate* unmanaged<IntPtr>)globalContext)();
            if (NativeLibrary.TryGetExport(handle, "_ZN2at7Context20setUserEnabledNNPACKEb", out var setNnpack))
                ((delegate* unmanaged<IntPtr, byte, void>)setNnpack)(context, 0);
            NativeLibrary.TryGetExport(handle, "_ZN2at7Context20setUserEnabledMkldnnEb", out setMkldnn);
        }

        // libtorch 2.10's oneDNN float32 dense convolutions return wrong values on this machine kind (AVX-512
        // Zen 4) at some channel counts: 60 -> 18 channels at 64x64 was off by up to ~3 against float64 (b18 at
        // alpha 0.75 has 60 input channels); b18's input gradient at alpha 0.5 (32 -> 8) by 74%. Padded to whole
        // 16-channel blocks they are right, and its 1x1 and depthwise kernels are right as they are; with oneDNN
        // the network trains 2.1x faster than with libtorch's own kernels. So: probe the plain dense kernel; where
        // it is wrong, the network runs its dense and transposed convolutions in the forms of
        // Model.ComposedConvolution, and oneDNN stays on only if those forms and the 1x1 and depthwise kernels pass
        // their own probe (else libtorch's own kernels, which are right, take everything).
        double error = ProbeConvolutionError();
        bool compose = error > 1e-3, enabled = true;
        double composedError = 0;
        if (compose)
        {
            composedError = ProbeComposedError();
            if (composedError > 1e-4 && context != IntPtr.Zero && setMkldnn != IntPtr.Zero)
            {
                ((delegate* unmanaged<IntPtr, byte, void>)setMkldnn)(context, 0);
                enabled = false;
            }
        }
        Status = new TorchCpuStatus(error, enabled, compose, composedError);
    }

    /// <summary>Max |float32 - float64| of a 60 -> 18 channel 3x3 convolution at 64x64 on smooth, RNG-free data.</summary>
    public static double ProbeConvolutionError()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Scalars held until the calls return (Model.HeldScalars: an implicit one can be freed mid-call).
        using Scalar xStep = 0.37, xScale = 5, wStep = 0.11, wScale = 0.2;
        var x = arange(60 * 64 * 64, dtype: ScalarType.Float64).mul(xStep).sin().mul(xScale).reshape(1, 60, 64, 64);
        var w = arange(18 * 60 * 9, dtype: ScalarType.Float64).mul(wStep).cos().mul(wScale).reshape(18, 60, 3, 3);
        var reference = nn.functional.conv2d(x, w, padding: [1, 1]);
        var single = nn.functional.conv2d(x.to(ScalarType.Float32), w.to(ScalarType.Float32), padding: [1, 1]);
        return single.to(ScalarType.Float64).sub(reference).abs().max().item<double>();
    }

    /// <summary>
    /// Largest relative error (against float64, which libtorch computes with its own kernels) of the output and
    /// of the input and weight gradients of every convolution form the network uses when it composes
    /// (Model.ComposedConvolution's dense and transposed forms, 1x1 and depthwise 3x3), at channel counts that
    /// are not multiples of 16. Random data from a generator of its own (torch's global one is left alone;
    /// smooth periodic data cancels in the gradients' sums, and float32 rounding then reads as error).
    /// </summary>
    public static double ProbeComposedError()
    {
        var cases = new (string Kind, long In, long Out, long Stride, long Size)[]
        {
            ("dense", 60, 18, 1, 64), ("dense", 32, 8, 1, 64), ("dense", 3, 16, 2, 128), ("transposed", 60, 18, 2, 32),
            ("transposed", 18, 60, 2, 32), ("pointwise", 60, 18, 1, 64), ("depthwise", 60, 60, 1, 64), ("depthwise", 24, 24, 2, 64),
        };
        double worst = 0;
        using var grad = enable_grad();
        foreach (var (kind, inChannels, outChannels, stride, size) in cases)
        {
            using var scope = NewDisposeScope();
            using var random = new Generator(7);
            long[] weightShape = kind switch
            {
                "dense" => [outChannels, inChannels, 3, 3],
                "transposed" => [inChannels, outChannels, 2, 2],
                "pointwise" => [outChannels, inChannels, 1, 1],
                _ => [outChannels, 1, 3, 3],
            };
            var x64 = randn([2, inChannels, size, size], ScalarType.Float64, generator: random);
            var w64 = randn(weightShape, ScalarType.Float64, generator: random);
            Tensor? upstream64 = null;
            (Tensor Y, Tensor Gx, Tensor Gw) Run(ScalarType type)
            {
                var x = x64.to(type).detach().requires_grad_(true);
                var w = w64.to(type).detach().requires_grad_(true);
                var y = kind switch
                {
                    "dense" => Model.ComposedConvolution.Dense3x3(x, w, null, stride),
                    "transposed" => Model.ComposedConvolution.Transposed2x2(x, w, null),
                    "pointwise" => nn.functional.conv2d(x, w),
                    _ => nn.functional.conv2d(x, w, strides: [stride, stride], padding: [1, 1], groups: inChannels),
                };
                var upstream = (upstream64 ??= randn(y.shape, ScalarType.Float64, generator: random)).to(type);
                y.mul(upstream).sum().backward();
                return (y.detach(), x.grad!, w.grad!);
            }
            var reference = Run(ScalarType.Float64);
            var single = Run(ScalarType.Float32);
            foreach (var (got, want) in new[] { (single.Y, reference.Y), (single.Gx, reference.Gx), (single.Gw, reference.Gw) })
            {
                double relative = got.to(ScalarType.Float64).sub(want).abs().max().item<double>() / Math.Max(want.abs().max().item<double>(), 1e-12);
                worst = double.IsNaN(relative) ? double.PositiveInfinity : Math.Max(worst, relative);
            }
        }
        return worst;
    }
}
