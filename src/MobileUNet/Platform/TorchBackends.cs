using System.Runtime.InteropServices;

namespace MobileUNet.Platform;

/// <summary>libtorch global switches that TorchSharp does not bind (torch.backends.*), set through at::Context.</summary>
public static partial class TorchBackends
{
    /// <summary>
    /// Sets OMP_WAIT_POLICY=PASSIVE in the native environment unless the user chose a policy; only effective
    /// before libtorch (and its bundled libgomp) is loaded, so call it first thing. Measured here (2 cores shared
    /// with other jobs, alpha 0.5 / 128, batch 16, 2 threads): libgomp's default spin-waiting made a training
    /// step 10-20x slower (0.4-0.6 img/s) than passive waiting (10-12 img/s) because spinning threads steal the
    /// cores their partners need; on an idle machine the difference is small.
    /// </summary>
    public static void PreferPassiveOpenMpWait()
    {
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE");
        // .NET keeps its own copy of the environment; libgomp reads the C runtime's.
        _ = SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>at::Context::setUserEnabledMkldnn; returns false where the symbols are absent.</summary>
    public static unsafe bool SetMkldnnEnabled(bool enabled)
    {
        TorchNativeLoader.EnsureLoadable();
        var glue = TorchNativeLoader.FindGlueLibrary();
        if (glue is null) return false;
        var torchCpu = Path.Combine(Path.GetDirectoryName(glue)!, "libtorch_cpu.so");
        if (!File.Exists(torchCpu) || !NativeLibrary.TryLoad(torchCpu, out var handle)) return false;
        if (!NativeLibrary.TryGetExport(handle, "_ZN2at13globalContextEv", out var globalContext)) return false;
        if (!NativeLibrary.TryGetExport(handle, "_ZN2at7Context20setUserEnabledMkldnnEb", out var setEnabled)) return false;
        var context = ((delegate* unmanaged<IntPtr>)globalContext)();
        ((delegate* unmanaged<IntPtr, byte, void>)setEnabled)(context, enabled ? (byte)1 : (byte)0);
        return true;
    }
}
