
namespace MobileUNet.Platform;

/// <summary>What the libstdc++ check decided for one native library.</summary>
internal sealed record LibStdCxxCompatibility(string NativeLibraryPath, IReadOnlyList<string> MissingVersions, bool NeedsFix);

/// <summary>
/// Makes TorchSharp's native glue (libLibTorchSharp.so) loadable on systems whose libstdc++ is older than the
/// one it was linked against. TorchSharp-cpu 0.107 asks for GLIBCXX_3.4.32, which Debian 12's libstdc++
/// (GCC 12) lacks. The only symbol bound to that version is <c>std::ios_base_library_init()</c>, which GCC 13
/// emits from &lt;iostream&gt; as a bare reference (no call, no relocation) just to pull in the new library,
/// which initialises iostreams itself; older libstdc++ does that through per-object initialisers instead. So the
/// need can safely be marked weak (VER_FLG_WEAK), and the loader accepts the library. The edit is made to the
/// application's own copy in its output folder (never the NuGet cache or a system library), once, and only
/// when the resolved libstdc++ lacks a version the glue needs: on newer systems this is a no-op.
/// </summary>
internal static class TorchNativeLoader
{
    const string GlueFileName = "libLibTorchSharp.so";
    const string LibStdCxxSoname = "libstdc++.so.6";

    /// <summary>Symbols known to be bare version markers: weakening their version cannot break a call.</summary>
    static readonly HashSet<string> MarkerSymbols = new(StringComparer.Ordinal) { "_ZSt21ios_base_library_initv" };

    static readonly Lazy<LibStdCxxCompatibility?> Applied = new(ApplyOnce, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Call before the first TorchSharp call; idempotent and thread-safe.</summary>
    public static LibStdCxxCompatibility? EnsureLoadable() => Applied.Value;

    /// <summary>
    /// The one place torch's intra-op thread count is set (process-wide in libtorch); 0 or less keeps its default.
    /// Loads the native libraries first.
    /// </summary>
    public static void SetThreads(int threads)
    {
        EnsureLoadable();
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
    }

    /// <summary>The glue library this process will load, or null when there is none (not Linux, not found).</summary>
    public static string? FindGlueLibrary()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var dirs = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string searchDirs)
            dirs.AddRange(searchDirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        dirs.Add(AppContext.BaseDirectory);
        dirs.Add(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"));
        return dirs.Select(d => Path.Combine(d, GlueFileName)).FirstOrDefault(File.Exists);
    }

    /// <summary>The decision, without changing anything: which libstdc++ versions the glue needs that the system lacks.</summary>
    public static LibStdCxxCompatibility? Check(string gluePath, IReadOnlySet<string> systemVersions)
    {
        var needs = ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(gluePath));
        var missing = needs.Where(n => n.Library == LibStdCxxSoname && !n.Weak && !systemVersions.Contains(n.Version))
                           .Select(n => n.Version).ToList();
        return new LibStdCxxCompatibility(gluePath, missing, missing.Count > 0);
    }

    static LibStdCxxCompatibility? ApplyOnce()
    {
        var glue = FindGlueLibrary();
        if (glue is null) return null;
        var decision = Patch(glue);
        TorchCpuBackend.PreferPassiveOpenMpWait();
        TorchCpuBackend.KeepFreedMemory();
        TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU);
        TorchCpuBackend.Configure(Path.GetDirectoryName(glue)!);
        return decision;
    }

    static LibStdCxxCompatibility? Patch(string glue)
    {
        var decision = Check(glue, SystemLibStdCxx.DefinedVersions());
        if (decision is null || !decision.NeedsFix) return decision;

        var bytes = File.ReadAllBytes(glue);
        foreach (var need in ElfVersionNeeds.ReadNeeds(bytes).Where(n => decision.MissingVersions.Contains(n.Version) && n.Library == LibStdCxxSoname))
        {
            var bound = ElfVersionNeeds.SymbolsUsingVersion(bytes, need.Index);
            var unsafeSymbols = bound.Where(s => !MarkerSymbols.Contains(s)).ToList();
            if (unsafeSymbols.Count > 0)
                throw new PlatformNotSupportedException(
                    $"{glue}: needs {need.Version} from {LibStdCxxSoname} for {string.Join(", ", unsafeSymbols)}, which this system's C++ runtime lacks; install a newer libstdc++ (GCC 13+).");
            ElfVersionNeeds.MarkWeak(bytes, need);
        }

        var full = Path.GetFullPath(glue);
        if (!full.StartsWith(Path.GetFullPath(AppContext.BaseDirectory), StringComparison.Ordinal))
            throw new PlatformNotSupportedException(
                $"{glue}: needs {string.Join(", ", decision.MissingVersions)} from {LibStdCxxSoname}, and it lies outside this application's folder, so it is not patched; build the application so its native libraries are copied to its output.");
        AtomicFile.WriteAllBytes(glue, bytes);
        return decision;
    }
}
