using System.Globalization;
using MobileUNet.Benchmarks;
using MobileUNet.Export;
using MobileUNet.Model;
using Microsoft.AspNetCore.Http;

namespace MobileUNet.Serve;

/// <summary>How the bench page times each configuration: <see cref="BenchBudget"/>'s knobs, as the page reads them.</summary>
sealed record BenchPageBudget(double Seconds, int MinRuns, int MaxRuns, int WarmupRuns, double WarmupSeconds, int RunsPastBudget);

/// <summary>One part of one spec to time: the export to fetch, and for a decoder the encoder export whose outputs it takes.</summary>
sealed record BenchPageJob(string Label, double Alpha, int Size, string Upsampling, string Part, string Url, string? FeaturesUrl);

/// <summary>One block at one encoder stage's shape to time.</summary>
sealed record BenchPageBlock(string Label, double Alpha, int Size, string Stage, string Kind, int InputSize, int InChannels, int OutChannels, int Stride, string Url);

/// <summary>Everything the bench page runs, made here from the CLI bench's own definitions (<see cref="BenchGrid"/>).</summary>
sealed record BenchPagePlan(IReadOnlyList<double> Alphas, IReadOnlyList<int> Sizes, bool Parts, bool Blocks, double BlockAlpha, int BlockSize,
    BenchPageBudget Budget, IReadOnlyList<BenchPageJob> Jobs, IReadOnlyList<BenchPageBlock> BlockJobs);

/// <summary>
/// The bench endpoints' query parameters, bounded: alphas are the bench grid's, sizes multiples of 32 up to
/// <see cref="MaxSize"/>, runs and seconds small enough that one page cannot hold the server's cores or memory.
/// Every refusal is a <see cref="ServeError"/> 400 with one line.
/// </summary>
static class BenchQuery
{
    /// <summary>Largest input side served for benching: above the grid's 224, modest enough that an export stays small.</summary>
    public const int MaxSize = 256;

    /// <summary>
    /// Most timed runs one configuration may post (and the page may be asked for): the full grid with parts and
    /// blocks on two backends at this many runs still posts under <see cref="BrowserBench.MaxBodyBytes"/>.
    /// </summary>
    public const int MaxRuns = 2000;

    /// <summary>
    /// Runs per configuration unless the page asks otherwise. The page stops at the budget's seconds or at this
    /// count; it does not re-implement the CLI's stop-when-stable rule (the server replays that rule to mark
    /// each posted result stable or not), so a cap keeps fast configurations from running the whole budget.
    /// </summary>
    public const int DefaultPageRuns = 300;

    public const double MaxSeconds = 60;
    public const int MaxWarmupRuns = 100;

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static double Alpha(string? text, string name = "alpha")
    {
        if (double.TryParse(text, NumberStyles.Float, Inv, out var alpha) && BenchGrid.Alphas.Contains(alpha)) return alpha;
        throw Bad($"{name} must be one of the bench grid's alphas ({BenchGrid.DefaultAlphas}), got '{text}'.");
    }

    public static int Size(string? text, string name = "size")
    {
        if (int.TryParse(text, NumberStyles.Integer, Inv, out var size) && size is >= 32 and <= MaxSize && size % 32 == 0) return size;
        throw Bad($"{name} must be a multiple of 32 from 32 to {MaxSize}, got '{text}'.");
    }

    /// <summary>
    /// GET /v1/bench/export.onnx: <c>alpha</c>, <c>size</c> and either <c>part=full|encoder|decoder</c> (with
    /// <c>upsampling</c> for a decoder variant) or <c>block=conv|depthwise</c> with an encoder <c>stage</c>.
    /// </summary>
    public static BenchExportKey ExportKey(IQueryCollection query)
    {
        var spec = new ModelSpec(Alpha(query["alpha"]), Size(query["size"]), Upsampling(query["upsampling"]));
        string? part = query["part"], block = query["block"];
        if ((part is not null) == (block is not null))
            throw Bad("give either part=full|encoder|decoder or block=conv|depthwise (with stage), not both or neither.");
        if (part is not null)
        {
            if (!Enum.TryParse<OnnxPart>(part, ignoreCase: true, out var onnxPart) || !Enum.IsDefined(onnxPart))
                throw Bad($"part must be full, encoder or decoder, got '{part}'.");
            return BenchExportKey.ForPart(spec, BenchExports.FromOnnx(onnxPart));
        }
        if (!Enum.TryParse<BlockKind>(block, ignoreCase: true, out var kind) || !Enum.IsDefined(kind))
            throw Bad($"block must be conv or depthwise, got '{block}'.");
        var stages = BlockShape.EncoderStages(spec).Select(s => s.Stage).ToList();
        string? stage = query["stage"];
        if (stage is null || !stages.Contains(stage)) throw Bad($"stage must be one of {string.Join(", ", stages)}, got '{stage}'.");
        return BenchExportKey.ForBlock(spec with { Upsampling = Model.Upsampling.TransposedConv }, stage, kind);
    }

    /// <summary>
    /// GET /v1/bench/plan: <c>alpha</c> and <c>size</c> lists (default: the CLI bench's grid), <c>parts</c> and
    /// <c>blocks</c> (default on), <c>block-alpha</c>/<c>block-size</c> (default: the CLI's), and the budget:
    /// <c>seconds</c> per configuration, <c>runs</c> at most, <c>warmup</c> runs.
    /// </summary>
    public static BenchPagePlan Plan(IQueryCollection query)
    {
        var alphas = List(query["alpha"], BenchGrid.DefaultAlphas, a => Alpha(a));
        var sizes = List(query["size"], BenchGrid.DefaultSizes, s => Size(s));
        bool parts = Flag(query["parts"], "parts"), blocks = Flag(query["blocks"], "blocks");
        double blockAlpha = query["block-alpha"] is { Count: > 0 } ba ? Alpha(ba, "block-alpha") : BenchGrid.DefaultBlockAlpha;
        int blockSize = query["block-size"] is { Count: > 0 } bs ? Size(bs, "block-size") : BenchGrid.DefaultBlockSize;

        double seconds = BenchGrid.DefaultBudgetSeconds;
        if (query["seconds"] is { Count: > 0 } sec && !(double.TryParse(sec, NumberStyles.Float, Inv, out seconds) && seconds > 0 && seconds <= MaxSeconds))
            throw Bad($"seconds must be a number in (0, {MaxSeconds}], got '{sec}'.");
        var defaults = new BenchBudget();
        int maxRuns = Count(query["runs"], "runs", 1, MaxRuns, DefaultPageRuns);
        int warmupRuns = Count(query["warmup"], "warmup", 0, MaxWarmupRuns, defaults.WarmupRuns);
        // The CLI's budget, scaled to the page's seconds: warm-up never takes more than a quarter of it.
        var budget = new BenchBudget(seconds, Math.Min(defaults.MinRuns, maxRuns), maxRuns, Math.Min(defaults.WarmupSeconds, seconds / 4), warmupRuns);

        var jobs = new List<BenchPageJob>();
        foreach (var alpha in alphas)
            foreach (var size in sizes)
                foreach (var (spec, part) in BenchGrid.Jobs(new ModelSpec(alpha, size), parts, Enum.GetValues<Upsampling>()))
                {
                    var onnxPart = BenchExports.ToOnnx(part).ToString().ToLowerInvariant();
                    string? features = part == BenchPart.Decoder ? Url(BenchExportKey.ForPart(spec, BenchPart.Encoder)) : null;
                    var label = part == BenchPart.Decoder ? $"{spec.Label} decoder" : $"{spec.Label} {onnxPart}";
                    jobs.Add(new BenchPageJob(label, alpha, size, spec.Upsampling.ToString(), onnxPart, Url(BenchExportKey.ForPart(spec, part)), features));
                }
        var blockSpec = new ModelSpec(blockAlpha, blockSize);
        var blockJobs = !blocks ? [] : BenchGrid.BlockJobs(blockSpec).Select(j =>
        {
            var kind = j.Kind.ToString().ToLowerInvariant();
            var key = BenchExportKey.ForBlock(blockSpec, j.Shape.Stage, j.Kind);
            return new BenchPageBlock($"{blockSpec.Label} {j.Shape.Stage} {kind}", blockAlpha, blockSize, j.Shape.Stage, kind,
                j.Shape.InputSize, j.Shape.InChannels, j.Shape.OutChannels, j.Shape.Stride, Url(key));
        }).ToList();
        return new BenchPagePlan(alphas, sizes, parts, blocks, blockAlpha, blockSize,
            new BenchPageBudget(budget.Seconds, budget.MinRuns, budget.MaxRuns, budget.WarmupRuns, budget.WarmupSeconds, LatencyRunner.RunsPastBudget),
            jobs, blockJobs);
    }

    /// <summary>The export URL of a key: what the plan hands the page, and what <see cref="ExportKey"/> reads back.</summary>
    public static string Url(BenchExportKey key)
    {
        var spec = key.Spec;
        var common = string.Create(Inv, $"{Routes.BenchExport}?alpha={spec.Alpha}&size={spec.InputSize}");
        return key.Part is { } part
            ? common + $"&part={BenchExports.ToOnnx(part).ToString().ToLowerInvariant()}" + (part == BenchPart.Encoder ? "" : $"&upsampling={spec.Upsampling}")
            : common + $"&block={key.Block.ToString()!.ToLowerInvariant()}&stage={key.Stage}";
    }

    static Upsampling Upsampling(string? text) =>
        text is null ? Model.Upsampling.TransposedConv
        : Enum.TryParse<Upsampling>(text, ignoreCase: true, out var up) && Enum.IsDefined(up) ? up
        : throw Bad($"upsampling must be one of {string.Join(", ", Enum.GetNames<Upsampling>())}, got '{text}'.");

    static IReadOnlyList<T> List<T>(string? text, string fallback, Func<string, T> parse)
    {
        var items = (string.IsNullOrWhiteSpace(text) ? fallback : text).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length > 16) throw Bad($"at most 16 values in a list, got {items.Length}.");
        return [.. items.Select(parse).Distinct()];
    }

    static bool Flag(string? text, string name) => text switch
    {
        null or "" or "1" or "true" or "on" => true,
        "0" or "false" or "off" => false,
        _ => throw Bad($"{name} must be 1 or 0, got '{text}'."),
    };

    static int Count(string? text, string name, int min, int max, int fallback)
    {
        if (text is null) return fallback;
        if (int.TryParse(text, NumberStyles.Integer, Inv, out var n) && n >= min && n <= max) return n;
        throw Bad($"{name} must be a whole number from {min} to {max}, got '{text}'.");
    }

    static ServeError Bad(string message) => new(StatusCodes.Status400BadRequest, message);
}
