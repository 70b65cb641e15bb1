using MobileUNet.Platform;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Model;

/// <summary>
/// Base of every MobileUNet module. Its static constructor runs before the first TorchSharp module is built
/// (the nn.Module constructor is the first native call), so the libstdc++ compatibility check always precedes
/// the loading of TorchSharp's native code.
/// </summary>
public abstract class NativeModule<TIn, TOut> : nn.Module<TIn, TOut>
{
    static NativeModule() => TorchNativeLoader.EnsureLoadable();

    protected NativeModule(string name) : base(name) { }
}
