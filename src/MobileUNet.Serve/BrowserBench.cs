using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using MobileUNet.Benchmarks;
using MobileUNet.Export;
using MobileUNet.Model;
using MobileUNet.Platform;
using Microsoft.AspNetCore.Http;

namespace MobileUNet.Serve;

/// <summary>
/// What the bench page posts: raw samples per configuration and what a page can tell of its device. The server,
/// not the page, builds the <see cref="BenchDocument"/> from it, so bench.json has one schema and one writer.
/// </summary>
sealed record BrowserBenchRun(string Runtime, string UserAgent, string Platform, int Cores, string Query, double BudgetSeconds,
    IReadOnlyList<BrowserBackend> Backends, IReadOnlyList<BrowserTiming> Results, IReadOnlyList<BrowserBlockTiming> Blocks);

/// <summary>
/// One onnxruntime-web execution provider as the page found it: <c>wasm</c> always, <c>webgpu</c> where the
/// browser has it. <see cref="Software"/> marks an adapter that emulates a GPU on the CPU (SwiftShader).
/// </summary>
sealed record BrowserBackend(string Name, bool Available, int Threads, string? Reason = null, string? Adapter = null, bool Software = false);

/// <summary>One part of one spec on one backend: every timed run in milliseconds, and the timed phase's wall clock.</summary>
sealed record BrowserTiming(string Backend, double Alpha, int Size, string Upsampling, string Part, double[] SamplesMs, double TimedSeconds);

/// <summary>One block at one encoder stage of the block spec (alpha, size) on one backend.</summary>
sealed record BrowserBlockTiming(string Backend, double Alpha, int Size, string Stage, string Kind, double[] SamplesMs, double TimedSeconds);

/// <summary>Turns a posted <see cref="BrowserBenchRun"/> into the bench records `bench merge` reads, refusing anything malformed.</summary>
static partial class BrowserBench
{
    /// <summary>The backend name in records: onnxruntime-web, whose execution provider is wasm or webgpu.</summary>
    public const string Backend = "ort-web";

    /// <summary>A full grid with parts and blocks on two backends, 200 runs each, is about 1 MB of JSON.</summary>
    public const long MaxBodyBytes = 4L << 20;

    const int MaxEntries = 4000;
    const double MaxSampleMs = 3_600_000;

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        // A missing field or a null where the record has none is garbage, not a default.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    // Specs are summarised once per process: a summary walks the whole network (parameters and MACs per layer).
    static readonly ConcurrentDictionary<ModelSpec, ModelSummary> Summaries = new();

    public static BrowserBenchRun Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<BrowserBenchRun>(json, JsonOptions) ?? throw Bad("the body is JSON null, not a bench run.");
        }
        catch (JsonException e)
        {
            throw Bad($"not a bench run from the /bench page ({OneLine(e.Message)}).");
        }
    }

    public static BenchDocument ToDocument(BrowserBenchRun run, string device, DateTimeOffset created)
    {
        Text(run.Runtime, "runtime", 100);
        Text(run.UserAgent, "userAgent", 512);
        Text(run.Platform, "platform", 100);
        Text(run.Query, "query", 2000);
        if (run.Cores is < 1 or > 1024) throw Bad($"cores must be 1..1024, got {run.Cores}.");
        if (!(run.BudgetSeconds > 0 && run.BudgetSeconds <= BenchQuery.MaxSeconds)) throw Bad($"budgetSeconds must be in (0, {BenchQuery.MaxSeconds}].");
        if (run.Backends.Count is < 1 or > 4 || run.Backends.Select(b => b.Name).Distinct().Count() != run.Backends.Count)
            throw Bad("backends must list wasm and webgpu at most once each.");
        foreach (var b in run.Backends)
        {
            if (b.Name is not ("wasm" or "webgpu")) throw Bad($"backend '{Clip(b.Name)}' is not wasm or webgpu.");
            if (b.Threads is < 1 or > 64) throw Bad($"backend {b.Name}: threads must be 1..64, got {b.Threads}.");
            if (b.Reason is not null) Text(b.Reason, $"backend {b.Name} reason", 300);
            if (b.Adapter is not null) Text(b.Adapter, $"backend {b.Name} adapter", 300);
        }
        if (run.Results.Count + run.Blocks.Count == 0) throw Bad("no timings: the run posted no results and no blocks.");
        if (run.Results.Count > MaxEntries || run.Blocks.Count > MaxEntries) throw Bad($"at most {MaxEntries} results and {MaxEntries} blocks.");

        BrowserBackend Ran(string name, string where) =>
            run.Backends.FirstOrDefault(b => b.Name == name && b.Available) ?? throw Bad($"{where}: backend '{Clip(name)}' is not an available backend of this run.");

        var stability = new BenchBudget();
        var results = new List<BenchResult>();
        for (int i = 0; i < run.Results.Count; i++)
        {
            var t = run.Results[i];
            string where = $"results[{i}]";
            var backend = Ran(t.Backend, where);
            if (!Enum.TryParse<Upsampling>(t.Upsampling, ignoreCase: true, out var up) || !Enum.IsDefined(up))
                throw Bad($"{where}: upsampling must be one of {string.Join(", ", Enum.GetNames<Upsampling>())}.");
            if (!Enum.TryParse<OnnxPart>(t.Part, ignoreCase: true, out var onnxPart) || !Enum.IsDefined(onnxPart))
                throw Bad($"{where}: part must be full, encoder or decoder.");
            var spec = new ModelSpec(BenchQuery.Alpha(Invariant(t.Alpha), $"{where}.alpha"), BenchQuery.Size(Invariant(t.Size), $"{where}.size"), up);
            var part = BenchExports.FromOnnx(onnxPart);
            var summary = Summaries.GetOrAdd(spec, ModelSummary.Of);
            var (parameters, macs) = BenchStudy.Size(summary, part);
            Samples(t.SamplesMs, t.TimedSeconds, where);
            results.Add(new BenchResult(Backend, ExecutionProvider(backend), backend.Threads, 1, spec, part, parameters, macs,
                LatencyStats.Of(t.SamplesMs), LatencyRunner.IsStable(t.SamplesMs, stability), Unmeasured, t.TimedSeconds));
        }

        var blocks = new List<BlockResult>();
        for (int i = 0; i < run.Blocks.Count; i++)
        {
            var t = run.Blocks[i];
            string where = $"blocks[{i}]";
            var backend = Ran(t.Backend, where);
            var spec = new ModelSpec(BenchQuery.Alpha(Invariant(t.Alpha), $"{where}.alpha"), BenchQuery.Size(Invariant(t.Size), $"{where}.size"));
            var shape = BlockShape.EncoderStages(spec).FirstOrDefault(s => s.Stage == t.Stage)
                        ?? throw Bad($"{where}: stage '{Clip(t.Stage)}' is not an encoder stage (b01, b02, ..., b07-b11, b12, b13).");
            if (!Enum.TryParse<BlockKind>(t.Kind, ignoreCase: true, out var kind) || !Enum.IsDefined(kind))
                throw Bad($"{where}: kind must be conv or depthwise.");
            Samples(t.SamplesMs, t.TimedSeconds, where);
            blocks.Add(new BlockResult(Backend, ExecutionProvider(backend), backend.Threads, 1, spec.Alpha, shape, kind,
                shape.Parameters(kind), shape.Macs(kind), LatencyStats.Of(t.SamplesMs), LatencyRunner.IsStable(t.SamplesMs, stability)));
        }

        var providers = results.Select(r => r.ExecutionProvider).Concat(blocks.Select(b => b.ExecutionProvider)).Distinct().ToList();
        var threads = run.Backends.Where(b => b.Available).Select(b => b.Threads).Distinct().ToList();
        var settings = new BenchSettings([Backend], string.Join(",", providers), threads, 1, run.BudgetSeconds, null,
            results.Any(r => r.Part != BenchPart.Model), blocks.Count > 0, CommandLine(run));
        var machine = new MachineInfo(device, "not visible to a web page", run.Cores, run.Platform, "browser", "none (browser)", null, run.Runtime);
        return new BenchDocument(BenchDocument.CurrentSchema, created, machine, settings, results, blocks, []);
    }

    /// <summary>
    /// The folder a device label names under the bench folder. A label that could leave it (a path separator,
    /// "..") or that is empty, over 64 characters or holds control characters is refused, not rewritten; other
    /// characters outside [A-Za-z0-9._-] become '-' ("Pixel 7 (Chrome)" -> "Pixel-7-Chrome").
    /// </summary>
    public static string DeviceFolder(string? label)
    {
        if (string.IsNullOrWhiteSpace(label)) throw Bad("device label missing: POST /v1/bench?device=LABEL (e.g. pixel-7-chrome).");
        label = label.Trim();
        if (label.Length > 64) throw Bad($"device label is {label.Length} characters; at most 64.");
        if (label.Any(char.IsControl)) throw Bad("device label must not hold control characters.");
        if (label.Contains('/') || label.Contains('\\') || label.Contains("..", StringComparison.Ordinal))
            throw Bad("device label must not contain '/', '\\' or '..': it names a folder.");
        var folder = Unsafe().Replace(label, "-").Trim('-', '.');
        if (folder.Length == 0) throw Bad("device label needs at least one letter or digit.");
        return folder;
    }

    [GeneratedRegex("[^A-Za-z0-9._-]+")]
    private static partial Regex Unsafe();

    // The browser cannot see the process's memory: the record says so rather than inventing a number.
    static readonly MemoryUse Unmeasured = new(0, 0, 0, "unmeasured");

    static string ExecutionProvider(BrowserBackend backend) =>
        !backend.Software ? backend.Name
        : backend.Adapter?.Contains("swiftshader", StringComparison.OrdinalIgnoreCase) == true ? backend.Name + "-swiftshader"
        : backend.Name + "-software";

    static string CommandLine(BrowserBenchRun run)
    {
        var notes = new List<string> { $"browser /bench?{run.Query}", run.Runtime, run.UserAgent };
        foreach (var b in run.Backends)
        {
            if (!b.Available) notes.Add($"{b.Name} not run: {b.Reason ?? "unavailable"}");
            else if (b.Software) notes.Add($"{b.Name} ran on {b.Adapter ?? "a software adapter"}, a CPU emulation of a GPU: its timings are not representative of a GPU");
        }
        return string.Join("; ", notes);
    }

    static void Samples(double[] samples, double timedSeconds, string where)
    {
        if (samples.Length is < 1 or > BenchQuery.MaxRuns) throw Bad($"{where}: samplesMs must hold 1..{BenchQuery.MaxRuns} runs, got {samples.Length}.");
        foreach (var s in samples)
            if (!(s >= 0 && s <= MaxSampleMs)) throw Bad($"{where}: a sample of {Invariant(s)} ms is not a latency.");
        if (!(timedSeconds >= 0 && timedSeconds <= 1e5)) throw Bad($"{where}: timedSeconds must be 0..100000.");
    }

    static void Text(string value, string name, int max)
    {
        if (value.Length > max) throw Bad($"{name} is over {max} characters.");
        if (value.Any(char.IsControl)) throw Bad($"{name} must not hold control characters.");
    }

    static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);
    static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";
    static string OneLine(string s) => s.ReplaceLineEndings(" ");
    static ServeError Bad(string message) => new(StatusCodes.Status400BadRequest, message);
}
