using TorchSharp;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MobileUNet.Platform;

/// <summary>What <see cref="TorchCpuBackend.Configure"/> found and chose for libtorch's CPU convolutions.</summary>
/// <param name="DenseMaxError">Largest relative error, output and both gradients, of the plain dense probe with oneDNN on.</param>
/// <param name="OneDnnEnabled">Whether libtorch may use oneDNN (mkldnn) for convolutions after the check.</param>
/// <param name="ComposedConvolutions">Whether the network runs its dense 3x3 and transposed convolutions in the
/// forms of Model.ComposedConvolution because the dense probe failed.</param>
/// <param name="ComposedMaxError">Largest relative error, output and both gradients, of those forms and of the 1x1
/// and depthwise convolutions with oneDNN on (0 when the dense probe passed and they were not needed).</param>
internal sealed record TorchCpuStatus(double DenseMaxError, bool OneDnnEnabled, bool ComposedConvolutions, double ComposedMaxError);

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

    /// <summary>glibc's <c>mallopt</c> parameters (malloc.h).</summary>
    const int MallocTrimThreshold = -1, MallocMmapThreshold = -3;

    /// <summary>Blocks up to this size come from the heap and are reused (glibc's largest allowed on 64-bit).</summary>
    const int MmapThresholdBytes = 32 << 20;

    /// <summary>Free memory at the heap's top is kept up to this size instead of being returned to the system.</summary>
    const int TrimThresholdBytes = 1 << 30;

    /// <summary>Whether <see cref="KeepFreedMemory"/> changed glibc's malloc settings in this process.</summary>
    public static bool KeepsFreedMemory { get; private set; }

    /// <summary>
    /// Makes glibc's malloc keep the memory libtorch frees for its next tensors instead of handing it back to the
    /// system. libtorch allocates each activation and gradient of a step afresh; glibc serves blocks above its
    /// mmap threshold (128 KiB, raised on the fly by what is freed, up to 32 MiB) with a fresh mmap, and trims the
    /// heap's free top, so a step can touch hundreds of MB of new pages, each a page fault that the kernel must
    /// zero. Whether a process escapes that depends on the order of its allocations: two runs of the same
    /// training side by side ran at 17 and 33 img/s, the slower one with 2.5x the page faults and a quarter of
    /// its time in the kernel. A fixed 32 MiB mmap threshold (which also stops the on-the-fly raising) and a 1 GiB
    /// trim threshold made the slow case 2.5x faster (README, "Requirements"). The cost: the
    /// process keeps its peak heap. It acts fully on the main thread's arena (where `train` runs); other threads' arenas
    /// still hand whole 64 MB sub-heaps back when they empty. Linux with glibc only; a user's own GLIBC_TUNABLES or
    /// MALLOC_*_ settings win.
    /// </summary>
    internal static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || UserSetMalloc()) return;
        try
        {
            KeepsFreedMemory = MallOpt(MallocMmapThreshold, MmapThresholdBytes) == 1
                             & MallOpt(MallocTrimThreshold, TrimThresholdBytes) == 1; // both applied, whatever the first returns
        }
        catch (EntryPointNotFoundException) { } // a C library without mallopt (not glibc): nothing to tune
    }

    static bool UserSetMalloc() =>
        Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) == true
        || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null
        || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    /// <summary>Null until TorchSharp's native code has been loaded and checked.</summary>
    public static TorchCpuStatus? Status { get; private set; }

    /// <summary>Largest relative error a probe accepts: float32 against float64 is ~1e-6 here, the faults 0.2-0.7.</summary>
    public const double Tolerance = 1e-4;

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
        bool compose = error > Tolerance, enabled = true;
        double composedError = 0;
        if (compose)
        {
            composedError = ProbeComposedError();
            if (composedError > Tolerance && context != IntPtr.Zero && setMkldnn != IntPtr.Zero)
            {
                ((delegate* unmanaged<IntPtr, byte, void>)setMkldnn)(context, 0);
                enabled = false;
            }
        }
        Status = new TorchCpuStatus(error, enabled, compose, composedError);
    }

    /// <summary>Largest relative error of oneDNN's plain dense 3x3 convolution, 60 -> 18 channels at 64x64 (b18's shape at alpha 0.75).</summary>
    public static double ProbeConvolutionError() =>
        WorstRelativeError([new(60, 64, [18, 60, 3, 3], (x, w) => nn.functional.conv2d(x, w, padding: [1, 1]))]);

    /// <summary>
    /// Largest relative error of every convolution form the network uses when it composes (Model.ComposedConvolution's
    /// dense and transposed forms, 1x1 and depthwise 3x3), at channel counts that are not multiples of 16.
    /// </summary>
    public static double ProbeComposedError() => WorstRelativeError(
    [
        new(60, 64, [18, 60, 3, 3], (x, w) => Model.ComposedConvolution.Dense3x3(x, w, null, 1)),
        new(32, 64, [8, 32, 3, 3], (x, w) => Model.ComposedConvolution.Dense3x3(x, w, null, 1)),
        new(3, 128, [16, 3, 3, 3], (x, w) => Model.ComposedConvolution.Dense3x3(x, w, null, 2)),
        new(60, 32, [60, 18, 2, 2], (x, w) => Model.ComposedConvolution.Transposed2x2(x, w, null)),
        new(18, 32, [18, 60, 2, 2], (x, w) => Model.ComposedConvolution.Transposed2x2(x, w, null)),
        new(60, 64, [18, 60, 1, 1], (x, w) => nn.functional.conv2d(x, w)),
        new(60, 64, [60, 1, 3, 3], (x, w) => nn.functional.conv2d(x, w, padding: [1, 1], groups: 60)),
        new(24, 64, [24, 1, 3, 3], (x, w) => nn.functional.conv2d(x, w, strides: [2, 2], padding: [1, 1], groups: 24)),
    ]);

    /// <summary>A probe: input channels and size, the weight's shape, and the convolution applied to (input, weight).</summary>
    internal sealed record ConvolutionCase(long InChannels, long Size, long[] WeightShape, Func<Tensor, Tensor, Tensor> Apply);

    /// <summary>
    /// Largest relative error (against float64, which libtorch computes with its own kernels) of the output and of
    /// the input and weight gradients over the cases. Random data from a generator of its own (torch's global one
    /// is left alone; smooth periodic data cancels in the gradients' sums, and float32 rounding then reads as error).
    /// </summary>
    static double WorstRelativeError(IEnumerable<ConvolutionCase> cases)
    {
        double worst = 0;
        using var grad = enable_grad();
        foreach (var c in cases)
        {
            using var scope = NewDisposeScope();
            using var random = new Generator(7);
            var x64 = randn([2, c.InChannels, c.Size, c.Size], ScalarType.Float64, generator: random);
            var w64 = randn(c.WeightShape, ScalarType.Float64, generator: random);
            Tensor? upstream64 = null;
            (Tensor Y, Tensor Gx, Tensor Gw) Run(ScalarType type)
            {
                var x = x64.to(type).detach().requires_grad_(true);
                var w = w64.to(type).detach().requires_grad_(true);
                var y = c.Apply(x, w);
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
