using System.Text.Json;
using Onnx;

namespace MobileUNet.Benchmarks;

/// <summary>
/// Reads an ONNX Runtime profiler trace (Chrome trace JSON) into time per operator type. ONNX Runtime runs an
/// optimised graph: Conv + Clip become one fused Conv, the CPU path rewrites convs to its blocked NCHWc layout
/// and adds Reorder nodes. A profiled node is traced back to the exported node whose name it starts with, and
/// typed by that node (a depthwise conv is a Conv with one input channel per group, a pointwise conv is 1x1);
/// time of a fused activation counts with the conv it was fused into.
/// </summary>
internal static class OperatorProfile
{
    /// <summary>Runs before the profiled ones (arena growth, pre-packing): their nodes are left out.</summary>
    public const int WarmupRuns = 3;

    public static IReadOnlyList<OperatorTime> Summarise(string traceJson, GraphProto graph, int warmupRuns)
    {
        using var trace = JsonDocument.Parse(traceJson);
        var runs = new List<(long Start, long End)>();
        var nodes = new List<(string Name, string Op, long Ts, long Dur)>();
        foreach (var e in trace.RootElement.EnumerateArray())
        {
            string cat = e.TryGetProperty("cat", out var c) ? c.GetString() ?? "" : "";
            string name = e.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
            if (!e.TryGetProperty("ts", out var ts) || !e.TryGetProperty("dur", out var dur)) continue;
            if (cat == "Session" && name == "model_run") runs.Add((ts.GetInt64(), ts.GetInt64() + dur.GetInt64()));
            else if (cat == "Node" && name.EndsWith(KernelSuffix, StringComparison.Ordinal))
            {
                string op = e.TryGetProperty("args", out var args) && args.TryGetProperty("op_name", out var o) ? o.GetString() ?? "" : "";
                nodes.Add((name[..^KernelSuffix.Length], op, ts.GetInt64(), dur.GetInt64()));
            }
        }
        runs.Sort();
        if (runs.Count <= warmupRuns) throw new InvalidDataException($"The profile holds {runs.Count} runs, need more than the {warmupRuns} warm-up runs.");
        long cutoff = runs[warmupRuns - 1].End;
        int profiled = runs.Count - warmupRuns;

        var kinds = OperatorKinds(graph);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var output in node.Output) producers[output] = node;
        // Longest exported name first, so "encoder.b01.pointwise/Conv" wins over a shorter name that prefixes it.
        var byLength = kinds.Keys.OrderByDescending(k => k.Length).ToList();
        var totals = new Dictionary<string, (double Us, HashSet<string> Nodes)>();
        foreach (var (name, op, ts, dur) in nodes)
        {
            if (ts < cutoff) continue;
            var original = Original(name, kinds, producers, byLength);
            string kind = original is not null ? kinds[original] : RuntimeKind(op);
            if (!totals.TryGetValue(kind, out var t)) totals[kind] = t = (0, []);
            totals[kind] = (t.Us + dur, t.Nodes);
            t.Nodes.Add(original ?? name);
        }
        double all = totals.Values.Sum(t => t.Us);
        return [.. totals.Select(t => new OperatorTime(t.Key, t.Value.Nodes.Count, t.Value.Us / 1000.0 / profiled, all > 0 ? t.Value.Us / all : 0))
            .OrderByDescending(o => o.MsPerRun)];
    }

    const string KernelSuffix = "_kernel_time";

    /// <summary>
    /// The exported node a profiled node comes from: the same name; or, for a node of the NCHWc rewrite (named
    /// after its output tensor plus "_nchwc"), the producer of that tensor, walking back through an activation
    /// that was fused into the conv before it; or the longest exported name the profiled name starts with.
    /// </summary>
    static string? Original(string name, Dictionary<string, string> kinds, Dictionary<string, NodeProto> producers, List<string> byLength)
    {
        if (kinds.ContainsKey(name)) return name;
        const string nchwc = "_nchwc";
        var tensor = name.EndsWith(nchwc, StringComparison.Ordinal) ? name[..^nchwc.Length] : name;
        if (producers.TryGetValue(tensor, out var node))
        {
            while (node.OpType is "Clip" or "Relu" or "Sigmoid" or "HardSigmoid" && node.Input.Count > 0
                   && producers.TryGetValue(node.Input[0], out var before) && before.OpType == "Conv")
                node = before;
            if (kinds.ContainsKey(node.Name)) return node.Name;
        }
        return byLength.FirstOrDefault(k => name.StartsWith(k, StringComparison.Ordinal));
    }

    /// <summary>Operator type of every node of the exported graph, by node name.</summary>
    public static Dictionary<string, string> OperatorKinds(GraphProto graph)
    {
        var weights = graph.Initializer.ToDictionary(i => i.Name, i => i.Dims.ToArray());
        var kinds = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (string.IsNullOrEmpty(node.Name)) continue;
            kinds[node.Name] = node.OpType switch
            {
                "Conv" => ConvKind(node, weights),
                "ConvTranspose" => "transposed conv",
                "Concat" => "concat",
                "Resize" => "resize",
                "Clip" => "relu6 (Clip)",
                "Sigmoid" => "sigmoid",
                "DepthToSpace" => "depth to space",
                _ => node.OpType,
            };
        }
        return kinds;
    }

    static string ConvKind(NodeProto node, Dictionary<string, long[]> weights)
    {
        long group = node.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
        var kernel = node.Attribute.FirstOrDefault(a => a.Name == "kernel_shape")?.Ints.ToArray();
        var w = node.Input.Count > 1 && weights.TryGetValue(node.Input[1], out var dims) ? dims : null;
        kernel ??= w is { Length: 4 } ? [w[2], w[3]] : null;
        if (group > 1 && w is { Length: 4 } && w[1] == 1) return "depthwise conv";
        if (group > 1) return "grouped conv";
        if (kernel is [1, 1]) return "pointwise conv";
        return kernel is [var kh, var kw] ? $"full conv {kh}x{kw}" : "full conv";
    }

    /// <summary>Nodes the runtime added that map to no exported node (layout reorders, its own fusions).</summary>
    static string RuntimeKind(string op) => op switch
    {
        "ReorderInput" or "ReorderOutput" => "layout reorder (NCHWc)",
        "" => "other",
        _ => op,
    };
}
