namespace MobileUNet.Benchmarks;

/// <summary>
/// The backends this build can time, by name. A backend's factory takes the execution provider asked for
/// (null: its default) and throws <see cref="ArgumentException"/> naming what is available when it cannot
/// serve it. The ONNX Runtime backend registers here as "onnx" once it exists.
/// </summary>
public static class BenchBackends
{
    static readonly Dictionary<string, Func<string?, IBenchBackend>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["torch"] = ep => ep is null or "cpu"
            ? new TorchBackend()
            : throw new ArgumentException($"--ep {ep}: the torch backend (TorchSharp-cpu) runs on the cpu only."),
    };

    /// <summary>Every backend name this build knows, in the order "all" runs them.</summary>
    public static IReadOnlyList<string> Names => [.. Factories.Keys];

    /// <summary>
    /// Adds a backend (for a backend in another assembly, or in tests); names are unique.
    /// </summary>
    public static void Register(string name, Func<string?, IBenchBackend> factory)
    {
        lock (Factories) Factories[name] = factory;
    }

    /// <summary>Backends for a --backend value: one name, or "all" for every one this build has.</summary>
    public static IReadOnlyList<string> Resolve(string selection)
    {
        if (string.Equals(selection, "all", StringComparison.OrdinalIgnoreCase)) return Names;
        var names = selection.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            if (Factories.ContainsKey(name)) continue;
            if (string.Equals(name, "onnx", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException("--backend onnx: the ONNX Runtime backend is not in this build yet (available: " + string.Join(", ", Names) + ").");
            throw new ArgumentException($"--backend {name}: unknown backend (available: {string.Join(", ", Names)}, or all).");
        }
        return names;
    }

    public static IBenchBackend Create(string name, string? executionProvider) =>
        Factories.TryGetValue(name, out var factory)
            ? factory(executionProvider)
            : throw new ArgumentException($"--backend {name}: unknown backend (available: {string.Join(", ", Names)}).");
}
