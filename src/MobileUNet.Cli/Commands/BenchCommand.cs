using System.ComponentModel;
using System.Globalization;
using MobileUNet.Benchmarks;
using MobileUNet.Export;
using MobileUNet.Inference;
using MobileUNet.Model;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>`mobileunet bench`: the speed study over the alpha x size grid, written as JSON, CSV, Markdown and charts.</summary>
public sealed class BenchCommand : Command<BenchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--alphas <LIST>")]
        [Description("Grid alphas, comma separated.")]
        [DefaultValue(BenchGrid.DefaultAlphas)]
        public string Alphas { get; init; } = BenchGrid.DefaultAlphas;

        [CommandOption("--sizes <LIST>")]
        [Description("Grid sizes, comma separated.")]
        [DefaultValue(BenchGrid.DefaultSizes)]
        public string Sizes { get; init; } = BenchGrid.DefaultSizes;

        [CommandOption("-u|--upsampling <LIST>")]
        [Description("Decoder upsampling of the grid's models, comma separated: TransposedConv (original), BilinearConv, NearestConv.")]
        [DefaultValue("TransposedConv")]
        public string Upsampling { get; init; } = "TransposedConv";

        [CommandOption("--precision <LIST>")]
        [Description("Precisions of the exported graph, comma separated: fp32, fp16, int8 (onnx backend; torch times fp32; int8 calibrates on the exporter's synthetic images). Default fp32, or an .onnx --model's own.")]
        public string? Precision { get; init; }

        [CommandOption("--transposed-conv <LIST>")]
        [Description("How the exported graph spells the decoder's transposed conv, comma separated: ConvTranspose, ConvDepthToSpace (onnx backend). Default: the export's default for each precision.")]
        public string? TransposedConv { get; init; }

        [CommandOption("--optimized-graphs <DIR>")]
        [Description("Write each graph as ONNX Runtime runs it after its fusions (NAME.optimized.onnx) here (onnx backend).")]
        public string? OptimizedGraphs { get; init; }

        [CommandOption("--backend <NAME>")]
        [Description("torch, onnx, or all (every backend in this build).")]
        [DefaultValue("all")]
        public string Backend { get; init; } = "all";

        [CommandOption("--ep <PROVIDER>")]
        [Description("Execution provider: cpu, cuda, coreml, nnapi or xnnpack (onnx backend; torch runs on cpu).")]
        public string? ExecutionProvider { get; init; }

        [CommandOption("--threads <LIST>")]
        [Description("Intra-op thread counts, comma separated. Default: the number of logical cores.")]
        public string? Threads { get; init; }

        [CommandOption("--batch <N>")]
        [Description("Images per inference call.")]
        [DefaultValue(1)]
        public int Batch { get; init; } = 1;

        [CommandOption("--model <FILE>")]
        [Description("Time this trained .munet file or MobileUNet .onnx export instead of untrained weights of the grid.")]
        public string? Model { get; init; }

        [CommandOption("--budget-seconds <S>")]
        [Description("Timed seconds per configuration at most (timing stops earlier once the median is stable).")]
        [DefaultValue(BenchGrid.DefaultBudgetSeconds)]
        public double BudgetSeconds { get; init; } = BenchGrid.DefaultBudgetSeconds;

        [CommandOption("--parts")]
        [Description("Also time the encoder and the decoder apart, the decoder in every upsampling variant.")]
        public bool Parts { get; init; }

        [CommandOption("--blocks")]
        [Description("Also time a 3x3 conv block against a depthwise block at each encoder stage's shape.")]
        public bool Blocks { get; init; }

        [CommandOption("--block-alpha <ALPHA>")]
        [Description("Alpha whose encoder stage widths the block study uses.")]
        [DefaultValue(BenchGrid.DefaultBlockAlpha)]
        public double BlockAlpha { get; init; } = BenchGrid.DefaultBlockAlpha;

        [CommandOption("--block-size <SIZE>")]
        [Description("Input size whose encoder stage resolutions the block study uses.")]
        [DefaultValue(BenchGrid.DefaultBlockSize)]
        public int BlockSize { get; init; } = BenchGrid.DefaultBlockSize;

        [CommandOption("--machine <LABEL>")]
        [Description("Name of this machine in records and merged tables. Default: the host name.")]
        public string? Machine { get; init; }

        [CommandOption("-o|--output <DIR>")]
        [Description("Output folder. Default: runs/bench/<UTC timestamp>.")]
        public string? Output { get; init; }

        public override ValidationResult Validate()
        {
            if (Platform.Limits.RangeError("--batch", Batch, 1, Platform.Limits.MaxBatch) is { } batch) return ValidationResult.Error(batch);
            if (!(BudgetSeconds > 0)) return ValidationResult.Error("--budget-seconds must be positive.");
            if (ExecutionProvider is { } ep && !RuntimeOptions.KnownProviders.Contains(ep))
                return ValidationResult.Error($"--ep {ep}: unknown execution provider (one of {string.Join(", ", RuntimeOptions.KnownProviders)}).");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        IReadOnlyList<ModelSpec> specs;
        // An .onnx model runs on ONNX Runtime only ("all" means the onnx backend then), at its own precision.
        bool onnxFile = settings.Model?.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) == true;
        IReadOnlyList<OnnxPrecision>? precisions = settings.Precision is { } p ? GridOptions.Names<OnnxPrecision>("--precision", p) : null;
        if (settings.Model is { } file)
        {
            if (!File.Exists(file)) throw new FileNotFoundException($"{file}: no such model file.");
            if (onnxFile)
            {
                var metadata = ModelSource.ReadOnnxMetadata(file);
                specs = [metadata.Spec];
                precisions ??= [metadata.Precision];
            }
            else specs = [WeightsFormat.ReadHeader(file).Spec];
        }
        else specs = GridOptions.Specs(settings.Alphas, settings.Sizes, GridOptions.Names<Upsampling>("--upsampling", settings.Upsampling));
        var forms = settings.TransposedConv is { } f ? GridOptions.Names<TransposedConvForm>("--transposed-conv", f) : null;

        var backends = BenchBackends.Resolve(onnxFile && settings.Backend.Equals("all", StringComparison.OrdinalIgnoreCase) ? BenchBackends.NameOf(Inference.Backend.Onnx) : settings.Backend,
            settings.ExecutionProvider);
        var threads = settings.Threads is { } t ? ParseThreads(t) : [Environment.ProcessorCount];
        var plan = new BenchPlan(specs, backends, settings.ExecutionProvider, threads, settings.Batch, new BenchBudget(settings.BudgetSeconds),
            settings.Model, settings.Parts, null, settings.Blocks, new ModelSpec(settings.BlockAlpha, settings.BlockSize), settings.Machine,
            "mobileunet bench " + string.Join(' ', context.Arguments.Skip(1)), precisions, forms, settings.OptimizedGraphs);
        string output = settings.Output ?? Path.Combine("runs", "bench", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Platform.OutputPaths.CheckFolder(output, settings.Model);
        if (settings.OptimizedGraphs is { } graphs) Platform.OutputPaths.CheckFolder(graphs, settings.Model);
        plan.Validate();
        foreach (var skipped in plan.Skipped) AnsiConsole.MarkupLine("[yellow]not timed:[/] " + Markup.Escape(skipped));

        BenchDocument? doc = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("bench", maxValue: plan.Steps);
                doc = BenchStudy.Run(plan, new SyncProgress(p =>
                {
                    task.Value = p.Done;
                    task.Description = Markup.Escape(p.Current);
                }), cancellationToken);
                task.Value = plan.Steps;
            });

        var written = BenchOutput.Write(output, [doc!]);
        AnsiConsole.Write(new Text(BenchTables.LatencyTable(doc!)));
        if (BenchTables.NoiseWarning(doc!) is { } warning) AnsiConsole.MarkupLine("[yellow]warning:[/] " + Markup.Escape(warning));
        AnsiConsole.MarkupLine($"wrote {written.Count} files to [bold]{Markup.Escape(output)}[/]");
        return 0;
    }

    static IReadOnlyList<int> ParseThreads(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1
                ? Platform.Limits.ThreadsError(n, "--threads") is { } error ? throw new ArgumentException(error) : n
                : throw new ArgumentException($"--threads: '{s}' is not a thread count of at least 1.")).ToList();

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and lag the bar).</summary>
    sealed class SyncProgress(Action<BenchProgress> report) : IProgress<BenchProgress>
    {
        public void Report(BenchProgress value) => report(value);
    }
}

/// <summary>Renders a bench's files in memory first, then writes each atomically, so a failure leaves no half-drawn report.</summary>
public static class BenchOutput
{
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<BenchDocument> docs, bool merged = false)
    {
        var texts = new List<(string Name, string Text)>();
        IReadOnlyList<Chart> charts;
        if (merged)
        {
            texts.Add(("merged.md", BenchTables.MergedMarkdown(docs)));
            texts.Add(("merged.csv", BenchTables.Csv(docs)));
            charts = [BenchCharts.MergedBars(docs), BenchCharts.LatencyVsSize(docs, "merged-latency-vs-size")];
        }
        else
        {
            var doc = docs.Single();
            texts.Add(("bench.json", doc.ToJson()));
            texts.Add(("bench.csv", BenchTables.Csv(docs)));
            if (doc.Blocks.Count > 0) texts.Add(("blocks.csv", BenchTables.BlocksCsv(docs)));
            texts.Add(("bench.md", BenchTables.Markdown(doc)));
            charts = BenchCharts.All(doc);
        }
        Directory.CreateDirectory(directory);
        var paths = new List<string>();
        foreach (var (name, text) in texts)
        {
            var path = Path.Combine(directory, name);
            Platform.AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));
            paths.Add(path);
        }
        foreach (var chart in charts) paths.AddRange(chart.Save(directory));
        return paths;
    }
}
