using MobileUNet.Inference;

namespace MobileUNet.Benchmarks;

/// <summary>
/// The backends (<see cref="Backend"/>) this build can time, with the execution providers each can serve here:
/// torch (TorchSharp eager, cpu) and onnx with the providers its runtime reports available
/// (<see cref="RuntimeOptions.AvailableProviders"/>). The bench's records and flags name a backend by
/// <see cref="NameOf"/>, the enum's lower-case name.
/// </summary>
internal static class BenchBackends
{
    // OnnxGraphs: the backend times exported ONNX graphs, so a graph's precision and form are its to vary.
    // Create takes the execution provider and the folder for optimised graphs (null: none written).
    sealed record Entry(IReadOnlyList<string> Providers, bool OnnxGraphs, Func<string, string?, IBenchBackend> Create);

    static readonly Dictionary<string, Entry> Entries = BuiltIn();

    /// <summary>A backend's name in bench flags and records: "onnx", "torch".</summary>
    public static string NameOf(Backend backend) => backend.ToString().ToLowerInvariant();

    static Dictionary<string, Entry> BuiltIn()
    {
        var entries = new Dictionary<string, Entry>(StringComparer.OrdinalIgnoreCase)
        {
            // TorchSharp-cpu is the only TorchSharp build the registry serves here: the cpu is all it runs on.
            [NameOf(Backend.Torch)] = new([RuntimeOptions.DefaultExecutionProvider], OnnxGraphs: false, (_, _) => new TorchBackend()),
        };
        try
        {
            // ONNX Runtime serves the execution providers its native build reports (cpu only in the NuGet CPU package).
            entries[NameOf(Backend.Onnx)] = new(RuntimeOptions.AvailableProviders(), OnnxGraphs: true, (ep, graphs) => new OnnxBackend(ep, graphs));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            // ONNX Runtime's native library does not load on this platform: the torch backend still runs.
        }
        return entries;
    }

    /// <summary>Every backend name this build knows, in the order "all" runs them.</summary>
    public static IReadOnlyList<string> Names
    {
        get { lock (Entries) return [.. Entries.Keys]; }
    }

    /// <summary>
    /// Backends for a --backend value (one name, a comma list, or "all") that serve <paramref name="executionProvider"/>
    /// (null: each backend's default). "all" keeps the backends that serve the provider; a named backend that
    /// cannot is an error naming what it serves.
    /// </summary>
    public static IReadOnlyList<string> Resolve(string selection, string? executionProvider = null)
    {
        lock (Entries)
        {
            if (string.Equals(selection, "all", StringComparison.OrdinalIgnoreCase))
            {
                var serving = Entries.Where(e => executionProvider is null || e.Value.Providers.Contains(executionProvider, StringComparer.OrdinalIgnoreCase))
                    .Select(e => e.Key).ToList();
                return serving.Count > 0 ? serving : throw new ArgumentException(
                    $"execution provider {executionProvider}: no backend in this build runs on it ({Describe()}).");
            }
            var names = selection.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (names.Length == 0) throw new ArgumentException("backends: name a backend, or all.");
            foreach (var name in names)
            {
                if (!Entries.TryGetValue(name, out var entry))
                {
                    throw new ArgumentException($"backend {name}: unknown backend ({Describe()}, or all).");
                }
                if (executionProvider is not null && !entry.Providers.Contains(executionProvider, StringComparer.OrdinalIgnoreCase))
                    throw new ArgumentException($"execution provider {executionProvider}: the {name} backend runs on {string.Join(", ", entry.Providers)} only in this build.");
            }
            return names;
        }
    }

    /// <summary>
    /// Whether a backend times exported ONNX graphs, whose precision and transposed-conv form are bench axes; a
    /// backend that runs the torch modules times fp32 only. False for a name this build does not know.
    /// </summary>
    public static bool TimesOnnxGraphs(string name)
    {
        lock (Entries) return Entries.TryGetValue(name, out var entry) && entry.OnnxGraphs;
    }

    /// <summary>
    /// Builds a backend on an execution provider (null: its default, the first it serves). A backend that times
    /// ONNX graphs writes each one as its runtime optimised it into <paramref name="optimizedGraphs"/> when given.
    /// </summary>
    public static IBenchBackend Create(string name, string? executionProvider, string? optimizedGraphs = null)
    {
        Entry? entry;
        lock (Entries)
            if (!Entries.TryGetValue(name, out entry)) throw new ArgumentException($"backend {name}: unknown backend ({Describe()}).");
        string provider = executionProvider ?? entry.Providers[0];
        if (!entry.Providers.Contains(provider, StringComparer.OrdinalIgnoreCase))
            throw new ArgumentException($"execution provider {provider}: the {name} backend runs on {string.Join(", ", entry.Providers)} only in this build.");
        return entry.Create(provider, optimizedGraphs);
    }

    static string Describe() => "available: " + string.Join("; ", Entries.Select(e => $"{e.Key} on {string.Join(", ", e.Value.Providers)}"));
}
