using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MobileUNet.Benchmarks;

/// <summary>Facts about this machine and process that a bench record carries.</summary>
internal static class MachineProbe
{
    public static MachineInfo Describe(string? label, IEnumerable<IBenchBackend> backends)
    {
        string? libtorch = null, onnx = null;
        foreach (var b in backends)
        {
            if (b.RuntimeName == "libtorch") libtorch = b.RuntimeVersion;
            else if (b.RuntimeName == "onnxruntime") onnx = b.RuntimeVersion;
        }
        return new MachineInfo(label ?? Environment.MachineName, CpuModel(), Environment.ProcessorCount, RuntimeInformation.OSDescription,
            RuntimeInformation.ProcessArchitecture.ToString(), RuntimeInformation.FrameworkDescription, libtorch, onnx);
    }

    /// <summary>The "model name" line of /proc/cpuinfo on Linux; the architecture elsewhere.</summary>
    public static string CpuModel()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (File.Exists(cpuinfo))
        {
            foreach (var line in File.ReadLines(cpuinfo))
            {
                int colon = line.IndexOf(':');
                if (colon > 0 && line[..colon].Trim() is "model name" or "Hardware" or "Model")
                    return line[(colon + 1)..].Trim();
            }
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>
    /// Starts a memory window: on Linux resets the kernel's peak-RSS mark (writing 5 to /proc/self/clear_refs)
    /// so the next <see cref="EndMemoryWindow"/> reports this window's peak; elsewhere the process peak is kept.
    /// </summary>
    public static long BeginMemoryWindow(out bool perWindow)
    {
        perWindow = false;
        try
        {
            if (File.Exists("/proc/self/clear_refs"))
            {
                File.WriteAllText("/proc/self/clear_refs", "5");
                perWindow = ReadStatusKb("VmHWM") is not null;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        using var p = Process.GetCurrentProcess();
        return p.WorkingSet64;
    }

    public static MemoryUse EndMemoryWindow(long residentBefore, bool perWindow)
    {
        long peak;
        if (perWindow && ReadStatusKb("VmHWM") is { } hwm) peak = hwm * 1024;
        else
        {
            using var p = Process.GetCurrentProcess();
            peak = p.PeakWorkingSet64;
        }
        return new MemoryUse(peak, residentBefore, GC.GetTotalMemory(false), perWindow ? "config" : "process");
    }

    static long? ReadStatusKb(string key)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return null;
        foreach (var line in File.ReadLines(status))
        {
            if (!line.StartsWith(key + ":", StringComparison.Ordinal)) continue;
            var parts = line[(key.Length + 1)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && long.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var kb)) return kb;
        }
        return null;
    }
}
