using System.Runtime.InteropServices;
using System.Text;
using MobileUNet.Platform;
using TorchSharp;

namespace MobileUNet.Tests;

public class PlatformTests
{
    [Fact]
    public void TorchSharp_tensor_op_runs()
    {
        Torch.EnsureReady();
        using var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var b = torch.ones(3, 2);
        using var product = a.matmul(b);
        Assert.Equal(new long[] { 2, 2 }, product.shape);
        Assert.Equal(new float[] { 3, 3, 12, 12 }, product.data<float>().ToArray());
    }

    [LinuxFact]
    public void Libstdcxx_check_agrees_with_the_library_on_disk()
    {
        var path = SystemLibStdCxx.ResolvedPath();
        Assert.NotNull(path);

        // Two independent readings of the same fact: the version string is present in the file's bytes,
        // and the one symbol GCC 13 binds to that version is exported by the loaded library.
        bool versionInBytes = Encoding.ASCII.GetString(File.ReadAllBytes(path!)).Contains("GLIBCXX_3.4.32\0", StringComparison.Ordinal);
        Assert.True(NativeLibrary.TryLoad("libstdc++.so.6", out var handle));
        bool exportsMarker = NativeLibrary.TryGetExport(handle, "_ZSt21ios_base_library_initv", out _);
        Assert.Equal(versionInBytes, exportsMarker);

        var defined = SystemLibStdCxx.DefinedVersions();
        Assert.Contains("GLIBCXX_3.4", defined);
        Assert.Equal(versionInBytes, defined.Contains("GLIBCXX_3.4.32"));

        // The decision for TorchSharp's glue follows: after EnsureLoadable the app's copy is weakened exactly
        // where the system lacks the version, and left as built where it has it.
        Torch.EnsureReady();
        var glue = TorchNativeLoader.FindGlueLibrary();
        Assert.NotNull(glue);
        var need = ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(glue!)).Single(n => n.Library == "libstdc++.so.6" && n.Version == "GLIBCXX_3.4.32");
        Assert.Equal(!versionInBytes, need.Weak);
        Assert.False(TorchNativeLoader.Check(glue!, defined)!.NeedsFix);
    }

    [LinuxFact(Debian12 = true)]
    public void This_machine_is_Debian_12_and_needs_the_fix()
    {
        // The machine kind this project targets (Debian 12, GCC 12 runtime) lacks GLIBCXX_3.4.32.
        Assert.DoesNotContain("GLIBCXX_3.4.32", SystemLibStdCxx.DefinedVersions());
        Assert.Contains("GLIBCXX_3.4.30", SystemLibStdCxx.DefinedVersions());
    }

    [LinuxFact]
    public void Marking_a_need_weak_flips_only_that_flag()
    {
        var glue = TorchNativeLoader.FindGlueLibrary()!;
        var bytes = File.ReadAllBytes(glue);
        var needs = ElfVersionNeeds.ReadNeeds(bytes);
        var target = needs.First(n => n.Library == "libstdc++.so.6" && n.Version == "GLIBCXX_3.4.30");
        var copy = (byte[])bytes.Clone();
        ElfVersionNeeds.MarkWeak(copy, target);
        var changed = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != copy[i]).ToList();
        Assert.True(changed.Count <= 1);
        var reread = ElfVersionNeeds.ReadNeeds(copy);
        Assert.True(reread.Single(n => n.Version == "GLIBCXX_3.4.30" && n.Library == "libstdc++.so.6").Weak);
        Assert.Equal(needs.Count, reread.Count);
        // The only symbol bound to GLIBCXX_3.4.32 is the iostream marker, which is why weakening it is safe.
        var v32 = needs.Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal(["_ZSt21ios_base_library_initv"], ElfVersionNeeds.SymbolsUsingVersion(bytes, v32.Index));
    }

    [Fact]
    public void Non_elf_input_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.ReadNeeds("not an elf file at all, just text....................................."u8));
    }
}

public class TorchCpuBackendTests
{
    [Fact]
    public void Float32_convolutions_agree_with_float64_after_configuration()
    {
        Torch.EnsureReady();
        var status = TorchCpuBackend.Status;
        Assert.NotNull(status);
        // Whatever oneDNN did on this machine, the convolution path left enabled must be right.
        Assert.True(TorchCpuBackend.ProbeConvolutionError() < 1e-3, $"probe error {TorchCpuBackend.ProbeConvolutionError()}; status {status}");
        Assert.Equal(status!.OneDnnMaxError <= 1e-3, status.OneDnnEnabled);
    }

    [Fact]
    public void A_b18_shaped_conv_block_matches_float64()
    {
        // b18 at alpha 0.75: 36 + 24 = 60 input channels, the shape that exposed the oneDNN fault.
        Torch.EnsureReady();
        using var _ = TorchSharp.torch.no_grad();
        TorchSharp.torch.manual_seed(5);
        using var block = new MobileUNet.Model.ConvBlock("b18", 60, 18);
        block.eval();
        using var x = TorchSharp.torch.randn(1, 60, 64, 64);
        using var y = block.forward(x);
        block.to(TorchSharp.torch.ScalarType.Float64);
        using var y64 = block.forward(x.to(TorchSharp.torch.ScalarType.Float64));
        Assert.True((y.to(TorchSharp.torch.ScalarType.Float64) - y64).abs().max().item<double>() < 1e-4);
    }
}

public class ConvBlockPathTests
{
    [Fact]
    public void Nine_tap_path_equals_the_plain_convolution_forward_and_backward()
    {
        Torch.EnsureReady();
        TorchSharp.torch.manual_seed(9);
        using var block = new MobileUNet.Model.ConvBlock("b18", 24, 8);
        using var x = TorchSharp.torch.randn(2, 24, 32, 32, requires_grad: true);
        using var viaBlock = block.forward(x);
        // The reference: the block's own layers with libtorch's convolution, whatever path the block took.
        var conv = (TorchSharp.Modules.Conv2d)block.named_children().Single(c => c.name == "conv").module;
        var bn = (TorchSharp.Modules.BatchNorm2d)block.named_children().Single(c => c.name == "bn").module;
        using var reference = TorchSharp.torch.nn.functional.relu6(bn.forward(conv.forward(x)));
        Assert.True((viaBlock - reference).abs().max().item<float>() < 1e-4);

        using var g1 = TorchSharp.torch.autograd.grad([viaBlock.sum()], [conv.weight!])[0];
        using var g2 = TorchSharp.torch.autograd.grad([reference.sum()], [conv.weight!])[0];
        Assert.True((g1 - g2).abs().max().item<float>() < 1e-2 * Math.Max(1, g2.abs().max().item<float>()));
    }
}

/// <summary>
/// A fact about the Linux native loader: reported as skipped elsewhere (never passed by returning early), and
/// with <see cref="Debian12"/>, skipped off the reference machine kind (CI and this workplace run Debian 12).
/// </summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "Linux only: the ELF loader fix applies to Linux.";
    }

    public bool Debian12
    {
        get;
        init
        {
            field = value;
            if (value && Skip is null && !(File.Exists("/etc/debian_version") && File.ReadAllText("/etc/debian_version").StartsWith("12", StringComparison.Ordinal)))
                Skip = "Debian 12 only: the reference machine kind.";
        }
    }
}
