using MobileUNet.Platform;
using TorchSharp;

namespace MobileUNet.Tests;

/// <summary>Readies TorchSharp's native code before a test touches torch directly (models do it themselves).</summary>
public static class Torch
{
    static readonly Lazy<bool> Ready = new(() =>
    {
        TorchNativeLoader.EnsureLoadable();
        // Tests run classes in parallel on 2 cores: more intra-op threads would only contend.
        torch.set_num_threads(1);
        return true;
    });

    public static void EnsureReady() => _ = Ready.Value;
}
