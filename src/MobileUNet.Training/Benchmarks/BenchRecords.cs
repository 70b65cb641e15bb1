using System.Text.Json;
using System.Text.Json.Serialization;
using MobileUNet.Export;
using MobileUNet.Model;
using MobileUNet.Platform;

namespace MobileUNet.Benchmarks;

/// <summary>
/// The machine a bench ran on. <see cref="Label"/> names it in merged tables (the host name unless the user
/// gives one); runtime versions are null where that runtime was not used.
/// </summary>
public sealed record MachineInfo(string Label, string CpuModel, int LogicalCores, string Os, string Architecture, string DotNet,
    string? Libtorch, string? OnnxRuntime);

/// <summary>
/// How the bench was asked to run: enough to rerun it. <see cref="Precisions"/> and <see cref="TransposedConvForms"/>
/// are the ONNX graph axes (null in files written before they existed: fp32 in the export's default form).
/// </summary>
public sealed record BenchSettings(IReadOnlyList<string> Backends, string? ExecutionProvider, IReadOnlyList<int> Threads, int Batch,
    double BudgetSeconds, string? ModelFile, bool Parts, bool Blocks, string CommandLine,
    IReadOnlyList<OnnxPrecision>? Precisions = null, IReadOnlyList<TransposedConvForm>? TransposedConvForms = null);

/// <summary>
/// Peak memory while one configuration was prepared and timed. On Linux the kernel's resident-set high-water
/// mark (VmHWM) is reset before each configuration, so <see cref="PeakResidentBytes"/> is this configuration's
/// peak of the whole process (runtime, other live objects and this model together); <see cref="Scope"/> is
/// "config" then. Elsewhere it is the process's peak working set so far ("process"), which only grows.
/// <see cref="ResidentBeforeBytes"/> is the resident set before the model was built, so the difference
/// approximates what the configuration itself added; <see cref="ManagedHeapBytes"/> is the GC heap after the runs.
/// </summary>
public sealed record MemoryUse(long PeakResidentBytes, long ResidentBeforeBytes, long ManagedHeapBytes, string Scope)
{
}

/// <summary>
/// One timed part of one model on one backend, thread count and batch. <see cref="Precision"/> is the numeric
/// format of the graph that ran (torch runs fp32); <see cref="TransposedConv"/> how an ONNX graph spelled the
/// decoder's transposed convs, null where no ONNX graph with one ran (torch, resize decoders, the encoder alone).
/// Both default for files written before they were recorded, which timed fp32 in the export's default form.
/// </summary>
public sealed record BenchResult(string Backend, string ExecutionProvider, int Threads, int Batch, ModelSpec Spec, BenchPart Part,
    long Parameters, long Macs, LatencyStats Latency, bool Stable, MemoryUse Memory, double TimedSeconds,
    OnnxPrecision Precision = OnnxPrecision.Fp32,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TransposedConvForm? TransposedConv = null)
{
    /// <summary>
    /// The transposed conv's form for comparisons: as recorded, or where nothing was recorded but the graph has a
    /// transposed conv, the export's default for the precision (what older files and torch's ConvTranspose2d ran).
    /// </summary>
    [JsonIgnore]
    public TransposedConvForm? EffectiveTransposedConv => TransposedConv
        ?? (Spec.Upsampling == Upsampling.TransposedConv && Part != BenchPart.Encoder ? OnnxExportOptions.DefaultTransposedConvForm(Precision) : null);

    /// <summary>
    /// How this run differs from the original fp32 network, for labels: decoder upsampling other than the transposed
    /// conv, precision other than fp32, a transposed-conv form other than the export's default; "" when none.
    /// </summary>
    [JsonIgnore]
    public string Variant => BenchModel.Describe(Spec.Upsampling, Precision, EffectiveTransposedConv);

    /// <summary>Backend, execution provider and variant, e.g. "onnx/cpu int8".</summary>
    [JsonIgnore]
    public string RunsOn => Variant.Length == 0 ? $"{Backend}/{ExecutionProvider}" : $"{Backend}/{ExecutionProvider} {Variant}";

    /// <summary>
    /// Share of the timed phase's wall clock spent outside the timed calls (the loop, the stability checks):
    /// near 0 means the samples account for the whole loop, as an outside timing of it would see.
    /// </summary>
    public double LoopOverhead => TimedSeconds > 0 ? Math.Max(0, 1 - Latency.MeanMs * Latency.Runs / (TimedSeconds * 1000)) : 0;

    /// <summary>Frames per second at the median (batch images per call).</summary>
    public double Fps => Latency.Fps(Batch);

    /// <summary>True when the median makes 30 frames per second.</summary>
    public bool MeetsRealtime => Fps >= BenchDocument.RealtimeFps;

    /// <summary>Achieved arithmetic rate: 2 FLOPs per MAC, over the median.</summary>
    public double GflopPerSecond => Latency.MedianMs > 0 ? 2.0 * Macs * Batch / (Latency.MedianMs * 1e6) : 0;

    /// <summary>True when run-to-run spread says the machine was noisy while this ran.</summary>
    public bool Noisy => Latency.IsNoisy;
}

/// <summary>A regular conv block or a depthwise-separable block at one encoder stage's shape.</summary>
public sealed record BlockResult(string Backend, string ExecutionProvider, int Threads, int Batch, double Alpha, BlockShape Shape,
    BlockKind Block, long Parameters, long Macs, LatencyStats Latency, bool Stable)
{
    public double GflopPerSecond => Latency.MedianMs > 0 ? 2.0 * Macs * Batch / (Latency.MedianMs * 1e6) : 0;
    public bool Noisy => Latency.IsNoisy;
}

/// <summary>Per-operator-type time of one model under a backend's profiler (see <see cref="IOperatorProfiler"/>).</summary>
public sealed record OperatorBreakdown(string Backend, string ExecutionProvider, int Threads, int Batch, ModelSpec Spec, IReadOnlyList<OperatorTime> Operators);

/// <summary>
/// Everything one `mobileunet bench` run measured, with the machine and settings. Tables, charts, merge and
/// recommend read these records, never live timings.
/// </summary>
public sealed record BenchDocument(int SchemaVersion, DateTimeOffset CreatedUtc, MachineInfo Machine, BenchSettings Settings,
    IReadOnlyList<BenchResult> Results, IReadOnlyList<BlockResult> Blocks, IReadOnlyList<OperatorBreakdown> Operators)
{
    public const int CurrentSchema = 1;
    public const double RealtimeFps = 30;

    public static readonly JsonSerializerOptions JsonOptions = RecordJson.Options;

    /// <summary>Results whose spread flags a noisy machine.</summary>
    [JsonIgnore] public int NoisyCount => Results.Count(r => r.Noisy) + Blocks.Count(b => b.Noisy);

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public void Save(string path) => AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(ToJson()));

    public static BenchDocument FromJson(string json, string source = "bench JSON")
    {
        BenchDocument? doc;
        try { doc = JsonSerializer.Deserialize<BenchDocument>(json, JsonOptions); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not a bench document ({e.Message})."); }
        if (doc is null || doc.Machine is null || doc.Results is null)
            throw new InvalidDataException($"{source}: not a bench document (no machine or results).");
        if (doc.SchemaVersion != CurrentSchema)
            throw new InvalidDataException($"{source}: bench schema {doc.SchemaVersion}, this build reads {CurrentSchema}.");
        return doc with { Blocks = doc.Blocks ?? [], Operators = doc.Operators ?? [] };
    }

    public static BenchDocument Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such bench file.");
        return FromJson(File.ReadAllText(path), path);
    }
}
