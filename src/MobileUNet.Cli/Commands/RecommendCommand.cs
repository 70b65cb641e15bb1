using System.ComponentModel;
using System.Text.Json;
using MobileUNet.Benchmarks;
using Spectre.Console;
using Spectre.Console.Cli;
using MobileUNet.Evaluation;

namespace MobileUNet.Cli.Commands;

/// <summary>`mobileunet recommend`: the most accurate configuration that meets a latency budget on a benched machine.</summary>
public sealed class RecommendCommand : Command<RecommendCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--bench <FILE>")]
        [Description("bench.json from `mobileunet bench` on the target machine.")]
        public string? Bench { get; init; }

        [CommandOption("--accuracy <FILE>")]
        [Description("accuracy.json (config spec + IoU per config) from `mobileunet sweep`.")]
        public string? Accuracy { get; init; }

        [CommandOption("--fps <FPS>")]
        [Description("Frame rate to sustain (default 30 when --latency-ms is not given).")]
        public double? Fps { get; init; }

        [CommandOption("--latency-ms <MS>")]
        [Description("Median latency not to exceed, in milliseconds.")]
        public double? LatencyMs { get; init; }

        [CommandOption("--backend <NAME>")]
        [Description("Only consider this backend's results (default: the fastest of any).")]
        public string? Backend { get; init; }

        [CommandOption("--threads <N>")]
        [Description("Only consider results at this thread count.")]
        public int? Threads { get; init; }

        [CommandOption("--precision <LIST>")]
        [Description("Only consider results of these precisions, comma separated: fp32, fp16, int8 (default: any the bench recorded).")]
        public string? Precision { get; init; }

        [CommandOption("-o|--output <DIR>")]
        [Description("Folder for recommendation.json and the Pareto chart (pareto.png, pareto.svg).")]
        [DefaultValue("runs/recommend")]
        public string Output { get; init; } = "runs/recommend";

        public override ValidationResult Validate()
        {
            if (Bench is null) return ValidationResult.Error("--bench FILE is required.");
            if (Accuracy is null) return ValidationResult.Error("--accuracy FILE is required.");
            if (Fps is not null && LatencyMs is not null) return ValidationResult.Error("Give --fps or --latency-ms, not both.");
            if (Fps is <= 0 || Fps is double.NaN) return ValidationResult.Error("--fps must be positive.");
            if (LatencyMs is <= 0 || LatencyMs is double.NaN) return ValidationResult.Error("--latency-ms must be positive.");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Platform.OutputPaths.CheckFolder(settings.Output, settings.Bench, settings.Accuracy);
        var bench = BenchDocument.Load(settings.Bench!);
        var accuracy = AccuracyDocument.Load(settings.Accuracy!);
        var budget = settings.LatencyMs is { } ms ? LatencyBudget.Latency(ms) : LatencyBudget.Fps(settings.Fps ?? BenchDocument.RealtimeFps);
        var precisions = settings.Precision is { } p ? GridOptions.Names<Export.OnnxPrecision>("--precision", p) : null;
        var rec = Recommender.Recommend(bench, accuracy, budget, settings.Backend, settings.Threads, precisions);
        if (rec.Candidates.Count == 0)
            throw new InvalidDataException($"{settings.Bench} and {settings.Accuracy} share no configuration (compare their specs).");

        var chart = Recommender.ParetoChart(rec);
        var json = JsonSerializer.Serialize(rec, BenchDocument.JsonOptions);
        Directory.CreateDirectory(settings.Output);
        Platform.AtomicFile.WriteAllBytes(Path.Combine(settings.Output, "recommendation.json"), System.Text.Encoding.UTF8.GetBytes(json));
        chart.Save(settings.Output);

        var table = new Table().AddColumns("size/alpha", "IoU", "median ms", "FPS", "runs on", "within budget", "Pareto");
        foreach (var c in rec.Candidates.OrderBy(c => c.LatencyMs))
            table.AddRow(c.Label, c.Iou.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture),
                c.LatencyMs.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
                (1000 / c.LatencyMs).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape($"{c.Fastest.RunsOn} x{c.Fastest.Threads}"),
                c.LatencyMs <= budget.MaxLatencyMs ? "yes" : "no", rec.ParetoFront.Contains(c) ? "*" : "");
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine(rec.Summary());
        AnsiConsole.MarkupLine($"wrote recommendation.json and pareto.png/svg to [bold]{Markup.Escape(settings.Output)}[/]");
        return 0;
    }
}
