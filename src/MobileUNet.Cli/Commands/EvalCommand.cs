using MobileUNet.Inference;
using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using MobileUNet.Evaluation;
using MobileUNet.Platform;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

public sealed class EvalCommand : Command<EvalCommand.Settings>
{
    public sealed class Settings : DataSettings
    {
        [CommandOption("-m|--model <NAME|PATH>")]
        [Description("A shipped model (person, person-160, hair), a .munet weights file written by train, or an .onnx export.")]
        [DefaultValue(ModelChoice.Default)]
        public string Model { get; init; } = ModelChoice.Default;

        // Spectre settings inherit from one base and this one's is DataSettings: the runtime options are declared
        // here with RuntimeSettings' texts, checks and defaults.
        [CommandOption("--threshold <T>")]
        [Description(RuntimeSettings.Help.Threshold)]
        public float? Threshold { get; init; }

        [CommandOption("-b|--backend <BACKEND>")]
        [Description(RuntimeSettings.Help.Backend)]
        [DefaultValue(Backend.Onnx)]
        public Backend Backend { get; init; } = Backend.Onnx;

        [CommandOption("--threads <N>")]
        [Description(RuntimeSettings.Help.Threads)]
        public int? Threads { get; init; }

        [CommandOption("--ep <PROVIDER>")]
        [Description(RuntimeSettings.Help.ExecutionProvider)]
        [DefaultValue(RuntimeOptions.DefaultExecutionProvider)]
        public string ExecutionProvider { get; init; } = RuntimeOptions.DefaultExecutionProvider;

        [CommandOption("--json <FILE>")]
        [Description("Also write the report (per image and mean) as JSON.")]
        public string? Json { get; init; }

        [CommandOption("--split <PART>")]
        [Description("With a dataset: All, or the Validation / Training side of the split `train` makes of it (by person for LFW names), to score a model on photos its training never saw. Default All.")]
        [DefaultValue(DatasetSplit.All)]
        public DatasetSplit Split { get; init; } = DatasetSplit.All;

        public override ValidationResult Validate()
        {
            var data = base.Validate();
            return data.Successful ? RuntimeSettings.Check(Threads, ExecutionProvider, Threshold, Backend) : data;
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // An unwritable or input-clobbering --json fails now, not after the whole evaluation.
        if (settings.Json is not null) OutputPaths.CheckFile(settings.Json, settings.Model, settings.Data, settings.Voc, settings.LfwImages, settings.LfwMasks);
        using var segmenter = SegmenterFactory.Open(settings.Model, RuntimeSettings.Options(settings.Backend, settings.Threads, settings.ExecutionProvider, pipelined: false));
        var dataset = settings.Dataset() is { } data
            ? settings.Split switch
            {
                DatasetSplit.Validation => MobileUNet.Data.SubsetDataset.Split(data).Validation,
                DatasetSplit.Training => MobileUNet.Data.SubsetDataset.Split(data).Train,
                _ => data,
            }
            : new MobileUNet.Data.SynthValidationSet(settings.Synthesizer(segmenter.Spec.InputSize), settings.ValCount, settings.ValSeed);
        var report = Run(segmenter, dataset, settings.Model, settings.Threshold ?? segmenter.Threshold, cancellationToken);
        Print(report);
        if (settings.Json is not null) WriteJson(settings.Json, report);
        return 0;
    }

    public static EvalReport Run(MobileUNet.Inference.ISegmenter segmenter, MobileUNet.Data.ISegmentationDataset dataset, string model, float threshold, CancellationToken cancel)
    {
        EvalReport? report = null;
        AnsiConsole.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask("evaluating", maxValue: dataset.Count);
            report = Evaluator.Run(segmenter, dataset, model, threshold, new Progress(v => task.Value = v), cancel);
        });
        return report!;
    }

    public static void WriteJson(string path, object report) =>
        AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(report, RecordJson.Options));

    public static void Print(EvalReport report)
    {
        var table = new Table().Title(Markup.Escape($"{report.Model} on {report.Dataset} (threshold {report.Threshold.ToString(CultureInfo.InvariantCulture)})"));
        table.AddColumns("", "IoU", "Dice", "precision", "recall", "pixel acc.");
        if (report.PerImage.Count <= 10)
            foreach (var s in report.PerImage) Row(table, s.Name, s.Metrics);
        Row(table, "[bold]mean (per image)[/]", report.Mean);
        Row(table, "[bold]pooled (all pixels)[/]", report.Pooled);
        AnsiConsole.Write(table);
        if (report.EmptyImages > 0)
            AnsiConsole.MarkupLineInterpolated($"{report.EmptyImages} of {report.Images} images have empty ground truth and an empty prediction; each counts as IoU 1 in the mean.");
    }

    static void Row(Table table, string name, SegmentationMetrics m) =>
        table.AddRow(name, F(m.IoU), F(m.Dice), F(m.Precision), F(m.Recall), F(m.PixelAccuracy));

    static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);

    sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}

/// <summary>Which side of <c>train</c>'s split of a dataset <c>eval</c> scores.</summary>
public enum DatasetSplit { All, Validation, Training }
