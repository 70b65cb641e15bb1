using System.Globalization;
using System.Text;

namespace MobileUNet.Benchmarks;

/// <summary>
/// CSV and Markdown tables drawn from bench records (never from live timings). Numbers are written in the
/// invariant culture so a decimal comma never splits a CSV field.
/// </summary>
internal static class BenchTables
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Names one timing series: machine, backend, execution provider, threads, batch, and the variant (resize
    /// decoder, precision, transposed-conv form) where it is not the original fp32 network.
    /// </summary>
    public static string Series(MachineInfo machine, string backend, string ep, int threads, int batch, string variant = "") =>
        string.Create(Inv, $"{machine.Label} {backend}/{ep} x{threads}") + (batch == 1 ? "" : string.Create(Inv, $" b{batch}"))
        + (variant.Length == 0 ? "" : " " + variant);

    public static string Series(BenchDocument doc, BenchResult r) => Series(doc.Machine, r.Backend, r.ExecutionProvider, r.Threads, r.Batch, r.Variant);

    public const string CsvHeader =
        "machine,cpu,cores,backend,execution_provider,threads,batch,alpha,alpha_up,size,upsampling,part,parameters,macs,runs,stable," +
        "median_ms,p10_ms,p90_ms,mean_ms,stdev_ms,min_ms,max_ms,fps,meets_30fps,gflop_per_s,spread,noisy,peak_resident_bytes,resident_before_bytes,memory_scope,timed_seconds,loop_overhead," +
        "precision,transposed_conv";

    /// <summary>One row per result of every document (merged machines stack as rows; the machine column tells them apart).</summary>
    public static string Csv(IEnumerable<BenchDocument> docs)
    {
        var sb = new StringBuilder().Append(CsvHeader).Append('\n');
        var list = docs.ToList();
        for (int i = 0; i < list.Count; i++)
            foreach (var r in list[i].Results)
            {
                var doc = list[i];
                var l = r.Latency;
                sb.AppendJoin(',', [
                    Field(Label(list, i)), Field(doc.Machine.CpuModel), I(doc.Machine.LogicalCores), Field(r.Backend), Field(r.ExecutionProvider),
                I(r.Threads), I(r.Batch), D(r.Spec.Alpha), D(r.Spec.AlphaUp), I(r.Spec.InputSize), r.Spec.Upsampling.ToString(),
                r.Part.ToString().ToLowerInvariant(), I(r.Parameters), I(r.Macs), I(l.Runs), B(r.Stable),
                D(l.MedianMs), D(l.P10Ms), D(l.P90Ms), D(l.MeanMs), D(l.StdevMs), D(l.MinMs), D(l.MaxMs), D(r.Fps), B(r.MeetsRealtime),
                D(r.GflopPerSecond), D(l.Spread), B(r.Noisy), I(r.Memory.PeakResidentBytes), I(r.Memory.ResidentBeforeBytes), r.Memory.Scope, D(r.TimedSeconds), D(r.LoopOverhead),
                r.Precision.ToString().ToLowerInvariant(), r.TransposedConv?.ToString() ?? ""]);
                sb.Append('\n');
            }
        return sb.ToString();
    }

    public const string BlocksCsvHeader =
        "machine,backend,execution_provider,threads,batch,alpha,stage,input_size,in_channels,out_channels,stride,block,parameters,macs,runs,median_ms,p10_ms,p90_ms,gflop_per_s,noisy";

    public static string BlocksCsv(IEnumerable<BenchDocument> docs)
    {
        var sb = new StringBuilder().Append(BlocksCsvHeader).Append('\n');
        foreach (var doc in docs)
            foreach (var b in doc.Blocks)
            {
                sb.AppendJoin(',', [
                    Field(doc.Machine.Label), Field(b.Backend), Field(b.ExecutionProvider), I(b.Threads), I(b.Batch), D(b.Alpha), b.Shape.Stage,
                I(b.Shape.InputSize), I(b.Shape.InChannels), I(b.Shape.OutChannels), I(b.Shape.Stride), b.Block.ToString().ToLowerInvariant(),
                I(b.Parameters), I(b.Macs), I(b.Latency.Runs), D(b.Latency.MedianMs), D(b.Latency.P10Ms), D(b.Latency.P90Ms), D(b.GflopPerSecond), B(b.Noisy)]);
                sb.Append('\n');
            }
        return sb.ToString();
    }

    /// <summary>The whole report of one run: machine, latency grid, parts, blocks, operators, noise warning.</summary>
    public static string Markdown(BenchDocument doc)
    {
        var sb = new StringBuilder();
        var m = doc.Machine;
        sb.Append(string.Create(Inv, $"# Bench: {m.Label}\n\n"));
        sb.Append(string.Create(Inv, $"- CPU: {m.CpuModel}, {m.LogicalCores} logical cores, {m.Architecture}\n"));
        sb.Append(string.Create(Inv, $"- OS: {m.Os}; {m.DotNet}; libtorch {m.Libtorch ?? "-"}; ONNX Runtime {m.OnnxRuntime ?? "-"}\n"));
        sb.Append(string.Create(Inv, $"- {doc.CreatedUtc:yyyy-MM-dd HH:mm} UTC; budget {doc.Settings.BudgetSeconds:0.##} s per config; batch {doc.Settings.Batch}"));
        if (doc.Settings.ModelFile is { } file) sb.Append("; weights ").Append(file);
        sb.Append('\n');
        if (doc.Results.Count > 0)
            sb.Append(string.Create(Inv, $"- bench loop overhead (wall clock of the timed phase outside the timed calls): at most {100 * doc.Results.Max(r => r.LoopOverhead):0.0}%\n"));
        if (doc.Settings.CommandLine.Length > 0) sb.Append("- command: `").Append(doc.Settings.CommandLine).Append("`\n");
        sb.Append('\n');
        if (NoiseWarning(doc) is { } warning) sb.Append("> **Warning:** ").Append(warning).Append("\n\n");

        sb.Append("## Latency (whole model)\n\n");
        sb.Append(LatencyTable(doc)).Append('\n');
        if (doc.Results.Any(r => r.Part != BenchPart.Model)) sb.Append("## Encoder and decoder\n\n").Append(PartsTable(doc)).Append('\n');
        if (doc.Blocks.Count > 0) sb.Append("## Conv block vs depthwise block\n\n").Append(BlocksTable(doc)).Append('\n');
        foreach (var op in doc.Operators)
        {
            sb.Append(string.Create(Inv, $"## Operators: {op.Spec.Label} on {op.Backend}/{op.ExecutionProvider} x{op.Threads}\n\n"));
            sb.Append("| operator | nodes | ms per run | share |\n|---|---:|---:|---:|\n");
            foreach (var o in op.Operators.OrderByDescending(o => o.MsPerRun))
                sb.Append(string.Create(Inv, $"| {o.Operator} | {o.Nodes} | {o.MsPerRun:0.000} | {o.Share * 100:0.0}% |\n"));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>A warning when any result's (p90 - p10) / median exceeds <see cref="LatencyStats.NoisySpread"/>.</summary>
    public static string? NoiseWarning(BenchDocument doc)
    {
        int noisy = doc.NoisyCount, total = doc.Results.Count + doc.Blocks.Count;
        return noisy == 0 ? null : string.Create(Inv,
            $"{noisy} of {total} measurements had a run-to-run spread (p90 - p10) / median above {LatencyStats.NoisySpread:0.##}: the machine was busy or its clock changed; compare medians measured in the same run, and rerun on an idle machine for absolute numbers.");
    }

    public static string LatencyTable(BenchDocument doc)
    {
        var sb = new StringBuilder();
        sb.Append("| backend | threads | alpha | size | params | MMACs | median ms | p10 | p90 | mean | stdev | FPS | 30 FPS | GFLOP/s | peak MiB |\n");
        sb.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|\n");
        foreach (var r in doc.Results.Where(r => r.Part == BenchPart.Model))
        {
            var l = r.Latency;
            sb.Append(string.Create(Inv,
                $"| {r.RunsOn} | {r.Threads} | {r.Spec.Alpha:0.###} | {r.Spec.InputSize} | {r.Parameters:N0} | {r.Macs / 1e6:0.0} | {l.MedianMs:0.00} | {l.P10Ms:0.00} | {l.P90Ms:0.00} | {l.MeanMs:0.00} | {l.StdevMs:0.00} | {r.Fps:0.0} | {(r.MeetsRealtime ? "yes" : "no")} | {r.GflopPerSecond:0.0} | {r.Memory.PeakResidentBytes / 1048576.0:0} |"));
            if (r.Noisy) sb.Append(" noisy");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// Encoder and decoder medians per config, one decoder column per upsampling variant; the backend cell names
    /// the config's own decoder, precision and form where they are not the original fp32 network's.
    /// </summary>
    public static string PartsTable(BenchDocument doc)
    {
        var variants = doc.Results.Where(r => r.Part == BenchPart.Decoder).Select(r => r.Spec.Upsampling).Distinct().OrderBy(v => v).ToList();
        var sb = new StringBuilder("| backend | threads | alpha | size | model ms | encoder ms |");
        foreach (var v in variants) sb.Append(string.Create(Inv, $" decoder {v} ms |"));
        sb.Append(" decoder share |\n|---|---:|---:|---:|---:|---:|");
        foreach (var _ in variants) sb.Append("---:|");
        sb.Append("---:|\n");
        // A whole model timed without parts (int8, which quantises the whole model only) has no row here.
        foreach (var g in PartGroups(doc).Where(g => g.Encoder is not null || g.Decoders.Count > 0))
        {
            string variant = BenchModel.Describe(g.Key.Upsampling, g.Key.Precision, g.Key.TransposedConv);
            sb.Append(string.Create(Inv, $"| {g.Key.Backend}/{g.Key.Ep}{(variant.Length == 0 ? "" : " " + variant)} | {g.Key.Threads} | {g.Key.Alpha:0.###} | {g.Key.Size} | {Ms(g.Model)} | {Ms(g.Encoder)} |"));
            foreach (var v in variants) sb.Append(' ').Append(Ms(g.Decoders.GetValueOrDefault(v))).Append(" |");
            var decoder = g.Decoders.GetValueOrDefault(g.Key.Upsampling);
            string share = g.Encoder is { } e && decoder is { } d ? string.Create(Inv, $"{100 * d.Latency.MedianMs / (e.Latency.MedianMs + d.Latency.MedianMs):0}%") : "-";
            sb.Append(' ').Append(share).Append(" |\n");
        }
        return sb.ToString();
    }

    /// <summary>
    /// One config of the parts study: where it ran, its spec, its precision, and the transposed-conv form of its whole
    /// model (null for a resize decoder).
    /// </summary>
    public sealed record PartKey(string Backend, string Ep, int Threads, int Batch, double Alpha, double AlphaUp, int Size, Model.Upsampling Upsampling,
        Export.OnnxPrecision Precision = Export.OnnxPrecision.Fp32, Export.TransposedConvForm? TransposedConv = null);

    /// <summary>The results of one config grouped: whole model, encoder, and the decoder per upsampling variant.</summary>
    public sealed record PartGroup(PartKey Key, BenchResult? Model, BenchResult? Encoder, IReadOnlyDictionary<Model.Upsampling, BenchResult> Decoders);

    /// <summary>
    /// Groups per config and precision. The encoder has no transposed conv, so it belongs to every form of its
    /// config; a decoder with one joins the group of its form (a resize decoder's group takes the default form's).
    /// </summary>
    public static IReadOnlyList<PartGroup> PartGroups(BenchDocument doc)
    {
        var groups = new List<PartGroup>();
        foreach (var r in doc.Results.Where(r => r.Part != BenchPart.Decoder))
        {
            var key = new PartKey(r.Backend, r.ExecutionProvider, r.Threads, r.Batch, r.Spec.Alpha, r.Spec.AlphaUp, r.Spec.InputSize, r.Spec.Upsampling,
                r.Precision, r.EffectiveTransposedConv);
            if (groups.Any(g => g.Key == key || r.Part == BenchPart.Encoder && g.Key with { TransposedConv = null } == key)) continue;
            BenchResult? Find(BenchPart part) => doc.Results.FirstOrDefault(x => x.Part == part && Same(x, key) && x.Spec.Upsampling == key.Upsampling
                && (part == BenchPart.Encoder || x.EffectiveTransposedConv == key.TransposedConv));
            var form = key.TransposedConv ?? Export.OnnxExportOptions.DefaultTransposedConvForm(key.Precision);
            var decoders = doc.Results.Where(x => x.Part == BenchPart.Decoder && Same(x, key) && (x.EffectiveTransposedConv ?? form) == form)
                .GroupBy(x => x.Spec.Upsampling).ToDictionary(x => x.Key, x => x.First());
            groups.Add(new PartGroup(key, Find(BenchPart.Model), Find(BenchPart.Encoder), decoders));
        }
        return groups;

        static bool Same(BenchResult x, PartKey k) =>
            x.Backend == k.Backend && x.ExecutionProvider == k.Ep && x.Threads == k.Threads && x.Batch == k.Batch &&
            x.Spec.Alpha == k.Alpha && x.Spec.AlphaUp == k.AlphaUp && x.Spec.InputSize == k.Size && x.Precision == k.Precision;
    }

    public static string BlocksTable(BenchDocument doc)
    {
        var sb = new StringBuilder("| backend | threads | stage | input | in -> out | stride | conv ms | depthwise ms | speed-up | MACs ratio |\n");
        sb.Append("|---|---:|---|---:|---|---:|---:|---:|---:|---:|\n");
        foreach (var g in doc.Blocks.GroupBy(b => (b.Backend, b.ExecutionProvider, b.Threads, b.Batch, b.Shape)))
        {
            var conv = g.FirstOrDefault(b => b.Block == BlockKind.Conv);
            var dw = g.FirstOrDefault(b => b.Block == BlockKind.Depthwise);
            var s = g.Key.Shape;
            string speedup = conv is not null && dw is not null ? string.Create(Inv, $"{conv.Latency.MedianMs / dw.Latency.MedianMs:0.0}x") : "-";
            sb.Append(string.Create(Inv,
                $"| {g.Key.Backend}/{g.Key.ExecutionProvider} | {g.Key.Threads} | {s.Stage} | {s.InputSize} | {s.InChannels} -> {s.OutChannels} | {s.Stride} | {Ms(conv)} | {Ms(dw)} | {speedup} | {(double)s.ConvMacs / s.DepthwiseMacs:0.0}x |\n"));
        }
        return sb.ToString();
    }

    /// <summary>
    /// Several machines side by side: one row per config (alpha, size), one column per series (machine,
    /// backend, threads), each cell "median ms (FPS)".
    /// </summary>
    public static string MergedMarkdown(IReadOnlyList<BenchDocument> docs)
    {
        var series = SeriesOf(docs);
        var sb = new StringBuilder("# Bench: machines side by side\n\nMedian latency in ms per call (FPS in brackets), whole model.\n\n");
        for (int i = 0; i < docs.Count; i++)
        {
            var doc = docs[i];
            sb.Append(string.Create(Inv, $"- {Label(docs, i)}: {doc.Machine.CpuModel}, {doc.Machine.LogicalCores} cores, {doc.Machine.Os}, {doc.CreatedUtc:yyyy-MM-dd HH:mm} UTC\n"));
        }
        sb.Append("\n| alpha | size |");
        foreach (var s in series) sb.Append(' ').Append(s.Name).Append(" |");
        sb.Append("\n|---:|---:|");
        foreach (var _ in series) sb.Append("---:|");
        sb.Append('\n');
        foreach (var (alpha, size) in ConfigsOf(docs))
        {
            sb.Append(string.Create(Inv, $"| {alpha:0.###} | {size} |"));
            foreach (var s in series)
            {
                var r = s.Results.FirstOrDefault(r => r.Spec.Alpha == alpha && r.Spec.InputSize == size);
                sb.Append(r is null ? " - |" : string.Create(Inv, $" {r.Latency.MedianMs:0.00} ({r.Fps:0.0}) |"));
            }
            sb.Append('\n');
        }
        for (int i = 0; i < docs.Count; i++)
            if (NoiseWarning(docs[i]) is { } w) sb.Append("\n> **Warning** (").Append(Label(docs, i)).Append("): ").Append(w).Append('\n');
        return sb.ToString();
    }

    /// <summary>A timing series of whole-model results (default upsampling of each spec as benched).</summary>
    public sealed record SeriesResults(string Name, IReadOnlyList<BenchResult> Results);

    public static IReadOnlyList<SeriesResults> SeriesOf(IEnumerable<BenchDocument> docs)
    {
        var list = docs.ToList();
        var labelled = list.Select((d, i) => d with { Machine = d.Machine with { Label = Label(list, i) } });
        return [.. labelled.SelectMany(d => d.Results.Where(r => r.Part == BenchPart.Model).Select(r => (Name: Series(d, r), r)))
            .GroupBy(x => x.Name).Select(g => new SeriesResults(g.Key, [.. g.Select(x => x.r)]))];
    }

    /// <summary>
    /// A document's machine label, made unique among <paramref name="docs"/> (two runs on one machine are two
    /// series): the run's UTC time is added where labels repeat, then its position where that is not enough.
    /// </summary>
    public static string Label(IReadOnlyList<BenchDocument> docs, int index)
    {
        var doc = docs[index];
        if (docs.Count(d => d.Machine.Label == doc.Machine.Label) == 1) return doc.Machine.Label;
        string timed = string.Create(Inv, $"{doc.Machine.Label} {doc.CreatedUtc:MM-dd HH:mm}");
        bool unique = docs.Where((d, i) => i != index && d.Machine.Label == doc.Machine.Label)
            .All(d => string.Create(Inv, $"{d.Machine.Label} {d.CreatedUtc:MM-dd HH:mm}") != timed);
        return unique ? timed : string.Create(Inv, $"{timed} #{index + 1}");
    }

    /// <summary>(alpha, size) pairs in the documents: alpha descending, size descending (the grid's order).</summary>
    public static IReadOnlyList<(double Alpha, int Size)> ConfigsOf(IEnumerable<BenchDocument> docs) =>
        [.. docs.SelectMany(d => d.Results.Where(r => r.Part == BenchPart.Model)).Select(r => (r.Spec.Alpha, r.Spec.InputSize))
            .Distinct().OrderByDescending(c => c.Alpha).ThenByDescending(c => c.InputSize)];

    static string Ms(BenchResult? r) => r is null ? "-" : r.Latency.MedianMs.ToString("0.00", Inv);
    static string Ms(BlockResult? r) => r is null ? "-" : r.Latency.MedianMs.ToString("0.000", Inv);
    static string I(long v) => v.ToString(Inv);
    static string D(double v) => v.ToString("R", Inv);
    static string B(bool v) => v ? "true" : "false";

    // RFC 4180: quote fields holding a comma, quote or line break.
    static string Field(string s) => s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}
