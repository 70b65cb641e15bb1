using System.ComponentModel;
using System.Globalization;
using MobileUNet.Data;
using MobileUNet.Evaluation;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>
/// The README's main job: trains the small default model on the embedded composites within a time box, scores
/// it on the seeded validation composites and the real VOC person photos, and predicts the demo photos.
/// Re-running continues (or just re-scores) the run in --out; --fresh starts over.
/// </summary>
public sealed class DemoCommand : Command<DemoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-o|--out <DIR>")]
        [DefaultValue("runs/demo")]
        public string Out { get; init; } = "runs/demo";

        [CommandOption("--minutes <M>")]
        [Description("Training time budget; no epoch starts that would end past it.")]
        [DefaultValue(6.0)]
        public double Minutes { get; init; } = 6.0;

        [CommandOption("--epochs <N>")]
        [DefaultValue(10)]
        public int Epochs { get; init; } = 10;

        [CommandOption("--steps <N>")]
        [Description("Steps (batches) per epoch.")]
        [DefaultValue(25)]
        public int Steps { get; init; } = 25;

        [CommandOption("--batch <N>")]
        [DefaultValue(16)]
        public int Batch { get; init; } = 16;

        [CommandOption("--lr <RATE>")]
        [DefaultValue(3e-3)]
        public double LearningRate { get; init; } = 3e-3;

        [CommandOption("--threads <N>")]
        public int? Threads { get; init; }

        [CommandOption("--val-count <N>")]
        [DefaultValue(200)]
        public int ValCount { get; init; } = 200;

        [CommandOption("--fresh")]
        [Description("Delete an earlier demo run in --out and train from scratch.")]
        public bool Fresh { get; init; }
    }

    /// <summary>What the demo did, written to demo.json.</summary>
    public sealed record DemoReport(ModelSpec Spec, string Model, double TrainingImagesPerSecond, int Threads, int Epochs, StopReason Stopped,
                                    double ValidationIoU, SegmentationMetrics Composites, SegmentationMetrics VocPersonPooled,
                                    SegmentationMetrics VocPersonMean, IReadOnlyList<string> Predictions);

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var spec = new ModelSpec(0.5, 128);
        var options = new TrainOptions
        {
            Spec = spec,
            Epochs = settings.Epochs,
            StepsPerEpoch = settings.Steps,
            BatchSize = settings.Batch,
            LearningRate = settings.LearningRate,
            Threads = settings.Threads ?? Environment.ProcessorCount,
            TimeBudget = TimeSpan.FromMinutes(settings.Minutes),
            Seed = 1,
        };
        options.Validate();
        Platform.OutputPaths.CheckFolder(settings.Out);
        if (settings.Fresh && Directory.Exists(settings.Out)) Directory.Delete(settings.Out, recursive: true);
        bool resume = File.Exists(Path.Combine(settings.Out, Checkpoint.Last));

        var synth = CompositeSynthesizer.FromFolders(DefaultData.Cutouts, DefaultData.Backgrounds, spec.InputSize);
        var validation = new SynthValidationSet(synth, settings.ValCount, 1000);
        var voc = new VocDataset(DefaultData.Voc);
        var demoPhotos = PredictCommand.Inputs(DefaultData.Demo).Concat(PredictCommand.Inputs(Path.Combine(DefaultData.Voc, "JPEGImages"))).ToList();

        AnsiConsole.MarkupLineInterpolated($"[bold]demo[/]: training {spec.Label} on {synth.Size}px composites of {DefaultData.Cutouts} over {DefaultData.Backgrounds}, {settings.Minutes.ToString(CultureInfo.InvariantCulture)} min budget, {options.Threads} threads{(resume ? " (continuing the earlier run)" : "")}");
        var result = TrainingView.Run(new Trainer(options, new SynthTrainingSource(synth), validation, Normalization.ImageNet), options, settings.Out, resume, cancellationToken);
        TrainingView.PrintHistory(result);

        using var segmenter = SegmenterFactory.Open(result.BestCheckpoint, Backend.Onnx);
        var onComposites = EvalCommand.Run(segmenter, validation, result.BestCheckpoint, 0.5f, cancellationToken);
        EvalCommand.Print(onComposites);
        var onVoc = EvalCommand.Run(segmenter, voc, result.BestCheckpoint, 0.5f, cancellationToken);
        EvalCommand.Print(onVoc);
        var predictionsDir = Path.Combine(settings.Out, "predictions");
        var written = PredictCommand.Predict(segmenter, demoPhotos, predictionsDir, 0.5f);

        var report = new DemoReport(spec, result.BestCheckpoint, Median(result.History.Select(h => h.ImagesPerSecond)), options.Threads,
            result.LastEpoch, result.Stopped, result.BestIoU, onComposites.Pooled, onVoc.Pooled, onVoc.Mean,
            [.. written.SelectMany(w => new[] { w.Mask, w.Overlay })]);
        var evalSynthPath = Path.Combine(settings.Out, "eval-composites.json");
        var evalVocPath = Path.Combine(settings.Out, "eval-voc.json");
        var demoPath = Path.Combine(settings.Out, "demo.json");
        EvalCommand.WriteJson(evalSynthPath, onComposites);
        EvalCommand.WriteJson(evalVocPath, onVoc);
        EvalCommand.WriteJson(demoPath, report);

        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"[bold]validation IoU (composites, pooled): {onComposites.Pooled.IoU:0.0000}[/]; VOC person IoU (pooled): {onVoc.Pooled.IoU:0.0000}; training {report.TrainingImagesPerSecond:0.0} img/s on {options.Threads} threads");
        var where = new Table().Title("written").AddColumns("what", "where");
        where.AddRow("best / last checkpoint", $"{Markup.Escape(result.BestCheckpoint)}, {Markup.Escape(result.LastCheckpoint)}");
        where.AddRow("metrics log, chart", Markup.Escape($"{Path.Combine(settings.Out, TrainingLog.Csv)}, {Path.Combine(settings.Out, TrainingLog.JsonFile)}, {Path.Combine(settings.Out, TrainingLog.Chart)}"));
        where.AddRow("evaluation", Markup.Escape($"{evalSynthPath}, {evalVocPath}"));
        where.AddRow("masks and overlays", Markup.Escape($"{predictionsDir} ({written.Count} photos)"));
        where.AddRow("summary", Markup.Escape(demoPath));
        AnsiConsole.Write(where);
        return 0;
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
