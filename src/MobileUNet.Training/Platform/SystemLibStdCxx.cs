using System.Runtime.InteropServices;

namespace MobileUNet.Platform;

/// <summary>The C++ runtime (libstdc++.so.6) this process resolves, on Linux.</summary>
internal static class SystemLibStdCxx
{
    /// <summary>
    /// The file the dynamic loader maps for libstdc++.so.6, read from /proc/self/maps after loading it by
    /// soname, so it is exactly the library TorchSharp's native code would bind to. Null off Linux.
    /// </summary>
    public static string? ResolvedPath()
    {
        if (!OperatingSystem.IsLinux()) return null;
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out _)) return null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash < 0) continue;
            var path = line[slash..];
            if (Path.GetFileName(path).StartsWith("libstdc++.so.6", StringComparison.Ordinal)) return path;
        }
        return null;
    }

    /// <summary>The symbol versions (GLIBCXX_*, CXXABI_*) the resolved libstdc++ defines.</summary>
    public static IReadOnlySet<string> DefinedVersions()
    {
        var path = ResolvedPath();
        return path is null ? new HashSet<string>() : ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(path));
    }
}
