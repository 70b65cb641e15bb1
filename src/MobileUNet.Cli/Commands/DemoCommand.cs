using MobileUNet.Batch;
using System.ComponentModel;
using System.Globalization;
using MobileUNet.Data;
using MobileUNet.Evaluation;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Training;
using MobileUNet.Video;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>
/// The README's main job: trains the small default model on the embedded composites within a time box, scores
/// it on the seeded validation composites and the real VOC person photos, and predicts the demo photos.
/// Re-running continues (or just re-scores) the run in --output; --fresh starts over.
/// </summary>
public sealed class DemoCommand : Command<DemoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-o|--output|--out <DIR>")]
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

        [CommandOption("--encoder-weights <NAME|MANIFEST|none>")]
        [Description("Pretrained encoder the quick model starts from (see train --encoder-weights); none trains from scratch.")]
        [DefaultValue("mobilenet-v1")]
        public string EncoderWeights { get; init; } = "mobilenet-v1";

        [CommandOption("--fresh")]
        [Description("Delete an earlier demo run in --output and train from scratch.")]
        public bool Fresh { get; init; }

        public override ValidationResult Validate() => OptionChecks.Result(
        [
            .. OptionChecks.Schedule(Epochs, Steps, Batch, LearningRate, Threads),
            Minutes >= 0 ? null : FormattableString.Invariant($"--minutes must be positive, got {Minutes}."),
        ]);
    }

    /// <summary>What the demo did, written to demo.json.</summary>
    public sealed record DemoReport(ModelSpec Spec, string Model, double TrainingImagesPerSecond, int Threads, int Epochs, StopReason Stopped,
                                    double ValidationIoU, SegmentationMetrics Composites, SegmentationMetrics VocPersonPooled,
                                    SegmentationMetrics VocPersonMean, IReadOnlyList<string> Predictions, ShippedModelReport? Shipped);

    /// <summary>The shipped person model on the same VOC photos, demo photos and the sample clip.</summary>
    public sealed record ShippedModelReport(string Model, SegmentationMetrics VocPersonPooled, SegmentationMetrics VocPersonMean,
                                            string Predictions, string? Clip, string? ClipSkipped);

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
            EncoderWeights = ModelSource.PretrainedEncoderPathOrNone(settings.EncoderWeights),
        };
        options.Validate();
        Platform.OutputPaths.CheckFolder(settings.Out);
        if (settings.Fresh && Directory.Exists(settings.Out)) Directory.Delete(settings.Out, recursive: true);
        bool resume = File.Exists(Path.Combine(settings.Out, Checkpoint.Last));

        var synth = CompositeSynthesizer.FromFolders(DefaultData.Cutouts, DefaultData.Backgrounds, spec.InputSize);
        var validation = new SynthValidationSet(synth, settings.ValCount, 1000);
        var voc = new VocDataset(DefaultData.Voc);
        var demoPhotos = PredictCommand.Inputs(DefaultData.Demo).Concat(PredictCommand.Inputs(Path.Combine(DefaultData.Voc, "JPEGImages"))).ToList();

        AnsiConsole.MarkupLineInterpolated($"[bold]demo[/]: training {spec.Label} on {synth.Size}px composites of {DefaultData.Cutouts} over {DefaultData.Backgrounds}, {settings.Minutes.ToString(CultureInfo.InvariantCulture)} min budget, {options.Threads} threads, {(options.EncoderWeights is null ? "encoder from scratch" : $"encoder from {settings.EncoderWeights}")}{(resume ? " (continuing the earlier run)" : "")}");
        var result = TrainingView.Run(new Trainer(options, new SynthTrainingSource(synth), validation, Normalization.ImageNet), options, settings.Out, resume, cancellationToken);
        TrainingView.PrintHistory(result);

        using var segmenter = SegmenterFactory.Open(result.BestCheckpoint, Backend.Onnx);
        var onComposites = EvalCommand.Run(segmenter, validation, result.BestCheckpoint, segmenter.Threshold, cancellationToken);
        EvalCommand.Print(onComposites);
        var onVoc = EvalCommand.Run(segmenter, voc, result.BestCheckpoint, segmenter.Threshold, cancellationToken);
        EvalCommand.Print(onVoc);
        var predictionsDir = Path.Combine(settings.Out, "predictions");
        // A fresh model: predict every photo again rather than resume the previous demo's predictions.
        if (Directory.Exists(predictionsDir))
            foreach (var old in Directory.GetFiles(predictionsDir, "manifest-*.jsonl")) File.Delete(old);
        var photos = PhotoList.Expand(demoPhotos);
        new PhotoBatch(segmenter, new BatchOptions { FailFast = true }).Run(photos, predictionsDir, Shard.All);
        var written = photos.Select(p => (Mask: Path.Combine(predictionsDir, PhotoOutputs.RelativePath(p.Key, PhotoOutputKind.Mask)),
                                           Overlay: Path.Combine(predictionsDir, PhotoOutputs.RelativePath(p.Key, PhotoOutputKind.Overlay)))).ToList();

        var shipped = RunShippedModel(voc, photos, settings.Out, cancellationToken);

        var report = new DemoReport(spec, result.BestCheckpoint, Median(result.History.Select(h => h.ImagesPerSecond)), options.Threads,
            result.LastEpoch, result.Stopped, result.BestIoU, onComposites.Pooled, onVoc.Pooled, onVoc.Mean,
            [.. written.SelectMany(w => new[] { w.Mask, w.Overlay })], shipped);
        var evalSynthPath = Path.Combine(settings.Out, "eval-composites.json");
        var evalVocPath = Path.Combine(settings.Out, "eval-voc.json");
        var demoPath = Path.Combine(settings.Out, "demo.json");
        EvalCommand.WriteJson(evalSynthPath, onComposites);
        EvalCommand.WriteJson(evalVocPath, onVoc);
        EvalCommand.WriteJson(demoPath, report);

        AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
            $"[bold]validation IoU (composites, pooled): {onComposites.Pooled.IoU:0.0000}[/]; VOC person IoU (pooled): {onVoc.Pooled.IoU:0.0000}; training {report.TrainingImagesPerSecond:0.0} img/s on {options.Threads} threads");
        if (shipped is not null)
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture,
                $"[bold]shipped {shipped.Model} model, VOC person IoU (pooled): {shipped.VocPersonPooled.IoU:0.0000}[/] (mean per image {shipped.VocPersonMean.IoU:0.0000})");
        var where = new Table().Title("written").AddColumns("what", "where");
        where.AddRow("best / last checkpoint", $"{Markup.Escape(result.BestCheckpoint)}, {Markup.Escape(result.LastCheckpoint)}");
        where.AddRow("metrics log, chart", Markup.Escape($"{Path.Combine(settings.Out, TrainingLog.Csv)}, {Path.Combine(settings.Out, TrainingLog.JsonFile)}, {Path.Combine(settings.Out, TrainingLog.Chart)}"));
        where.AddRow("evaluation", Markup.Escape($"{evalSynthPath}, {evalVocPath}"));
        where.AddRow("masks and overlays", Markup.Escape($"{predictionsDir} ({written.Count} photos)"));
        if (shipped is not null)
        {
            where.AddRow($"shipped {Markup.Escape(shipped.Model)} model: masks and overlays", Markup.Escape(shipped.Predictions));
            where.AddRow($"shipped {Markup.Escape(shipped.Model)} model: sample clip", Markup.Escape(shipped.Clip ?? $"skipped ({shipped.ClipSkipped})"));
        }
        where.AddRow("summary", Markup.Escape(demoPath));
        AnsiConsole.Write(where);
        return 0;
    }

    /// <summary>
    /// What a user's own photos get: the shipped person model (trained on real photos, models/person.md) scored on
    /// the same VOC photos as the quick model, and run on the demo photos and the sample clip. A build without
    /// shipped models, or a machine without ffmpeg for the clip, says so and goes on.
    /// </summary>
    static ShippedModelReport? RunShippedModel(VocDataset voc, IReadOnlyList<PhotoInput> photos, string outDir, CancellationToken cancel)
    {
        if (!ModelSource.ShippedNames.Contains(ModelChoice.Default))
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]no shipped '{ModelChoice.Default}' model in {ModelSource.ShippedFolder}[/]: skipped the real-photo model.");
            return null;
        }
        var source = ModelSource.Parse(ModelChoice.Default);
        using var segmenter = source.Open(Backend.Onnx);
        AnsiConsole.MarkupLineInterpolated($"[bold]shipped model[/] {source.Label} ({segmenter.Spec.Label}) on the same VOC person photos:");
        var onVoc = EvalCommand.Run(segmenter, voc, source.Label, segmenter.Threshold, cancel);
        EvalCommand.Print(onVoc);
        var dir = Path.Combine(outDir, ModelChoice.Default);
        foreach (var old in Directory.Exists(dir) ? Directory.GetFiles(dir, "manifest-*.jsonl") : []) File.Delete(old);
        new PhotoBatch(segmenter, new BatchOptions { FailFast = true, Kinds = PhotoOutputKind.Mask | PhotoOutputKind.Overlay | PhotoOutputKind.Cutout })
            .Run(photos, dir, Shard.All);
        EvalCommand.WriteJson(Path.Combine(dir, "eval-voc.json"), onVoc);

        string clip = Path.Combine(dir, "sample-clip.mp4"), overlay = Path.Combine(dir, "sample-clip.overlay.mp4");
        try
        {
            SampleClip.Write(FfmpegTools.Default, clip);
            new VideoJob(new VideoJobOptions(clip, overlay, OutputKind.Overlay)).Run(segmenter, source.Label, cancel);
            return new ShippedModelReport(source.Label, onVoc.Pooled, onVoc.Mean, dir, overlay, null);
        }
        catch (FfmpegNotFoundException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]{e.Message}[/]: skipped the sample clip (install ffmpeg to segment video).");
            return new ShippedModelReport(source.Label, onVoc.Pooled, onVoc.Mean, dir, null, e.Message);
        }
    }

    // The bench's one percentile definition (numpy's linear), which for q = 0.5 is the textbook median.
    static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? 0 : Benchmarks.LatencyStats.Percentile(sorted, 0.5);
    }
}
