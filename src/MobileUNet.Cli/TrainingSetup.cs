using System.ComponentModel;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli;

/// <summary>Dataset options shared by train and eval: exactly one source, or the embedded default composites.</summary>
public class DataSettings : CommandSettings
{
    [CommandOption("--data <DIR>")]
    [Description("Folder-pairs dataset: DIR/images + DIR/masks matched by file stem.")]
    public string? Data { get; init; }

    [CommandOption("--class-value <V>")]
    [Description("With --data: foreground is mask value V (255 ignored) instead of value > 127.")]
    public int? ClassValue { get; init; }

    [CommandOption("--voc <DIR>")]
    [Description("PASCAL VOC layout (JPEGImages + SegmentationClass[[PNG]]).")]
    public string? Voc { get; init; }

    [CommandOption("--voc-classes <LIST>")]
    [Description("With --voc: foreground class ids, comma separated. Default 15 (person).")]
    [DefaultValue("15")]
    public string VocClasses { get; init; } = "15";

    [CommandOption("--lfw-images <DIR>")]
    [Description("LFW Part Labels: photo folder (searched recursively); use with --lfw-masks.")]
    public string? LfwImages { get; init; }

    [CommandOption("--lfw-masks <DIR>")]
    [Description("LFW Part Labels: folder of .ppm part masks.")]
    public string? LfwMasks { get; init; }

    [CommandOption("--lfw-part <PART>")]
    [Description("LFW channel to segment: Hair (red), Face (green) or Background (blue).")]
    [DefaultValue(LfwPart.Hair)]
    public LfwPart LfwPart { get; init; } = LfwPart.Hair;

    [CommandOption("--cutouts <DIR>")]
    [Description("Composite synthesis: folder of RGBA cutouts (default: the embedded fluent-emoji people and animals).")]
    public string? Cutouts { get; init; }

    [CommandOption("--backgrounds <DIR>")]
    [Description("Composite synthesis: folder of background photos (default: the embedded photos).")]
    public string? Backgrounds { get; init; }

    [CommandOption("--mix <DIR>")]
    [Description("With composites: also train on this folder-pairs dataset (e.g. real photos labelled by a teacher with `data label`), augmented.")]
    public string? Mix { get; init; }

    [CommandOption("--mix-share <F>")]
    [Description("With --mix: the fraction of training samples drawn from it (0..1). Default 0.4.")]
    [DefaultValue(0.4)]
    public double MixShare { get; init; } = 0.4;

    [CommandOption("--mix-targets <KIND>")]
    [Description("With --mix: Hard thresholds the mask values at 127 (measured better for the person model, models/person.md), Soft learns them as probabilities (a teacher's map from `data label`). Default Hard.")]
    [DefaultValue(MixTargets.Hard)]
    public MixTargets MixTargets { get; init; } = MixTargets.Hard;

    [CommandOption("--val-count <N>")]
    [Description("Number of seeded validation composites (the first N of one fixed set). Default: 200 (sweep: 32).")]
    public int? ValCountOption { get; init; }

    /// <summary>--val-count, or the command's default (sweep scores many configs, so it defaults to fewer images).</summary>
    public int ValCount => ValCountOption ?? DefaultValCount;

    protected virtual int DefaultValCount => 200;

    [CommandOption("--val-seed <SEED>")]
    [Description("Seed of the validation composites (fixed, so every run scores the same images).")]
    [DefaultValue(1000L)]
    public long ValSeed { get; init; } = 1000;

    public bool IsSynth => Data is null && Voc is null && LfwImages is null && LfwMasks is null;

    public override ValidationResult Validate()
    {
        int sources = new[] { Data is not null, Voc is not null, LfwImages is not null || LfwMasks is not null }.Count(b => b);
        if (sources > 1) return ValidationResult.Error("choose one of --data, --voc, --lfw-images/--lfw-masks.");
        if ((LfwImages is null) != (LfwMasks is null)) return ValidationResult.Error("--lfw-images and --lfw-masks go together.");
        if (!IsSynth && (Cutouts is not null || Backgrounds is not null)) return ValidationResult.Error("--cutouts/--backgrounds are for composite synthesis, not with a dataset.");
        if (Platform.Limits.RangeError("--val-count", ValCount, 1, Platform.Limits.MaxCount) is { } valCount) return ValidationResult.Error(valCount);
        if (ClassValue is not null && Data is null) return ValidationResult.Error("--class-value goes with --data.");
        if (ClassValue is < 0 or > 254) return ValidationResult.Error($"--class-value must be a mask value 0..254 (255 means ignore), got {ClassValue}.");
        if (Voc is not null && VocClasses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length == 0)
            return ValidationResult.Error("--voc-classes: no class ids; name at least one foreground class (person is 15).");
        if (Mix is not null && !IsSynth) return ValidationResult.Error("--mix adds real photos to composite training; with --data/--voc/--lfw-* there are no composites to mix with.");
        if (!(MixShare is >= 0 and <= 1)) return ValidationResult.Error("--mix-share must be between 0 and 1.");
        return ValidationResult.Success();
    }

    public CompositeSynthesizer Synthesizer(int size) =>
        CompositeSynthesizer.FromFolders(Cutouts ?? DefaultData.Cutouts, Backgrounds ?? DefaultData.Backgrounds, size);

    /// <summary>The chosen finite dataset, or null for composites.</summary>
    public ISegmentationDataset? Dataset()
    {
        if (Data is not null) return new FolderPairsDataset(Data, ClassValue is { } v ? new ForegroundRule.ClassValue(checked((byte)v)) : null);
        if (Voc is not null) return new VocDataset(Voc, VocClasses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(c => int.TryParse(c, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var id) && id is >= 0 and < 255
                ? id : throw new ArgumentException($"--voc-classes: '{c}' is not a class id (0..254).")));
        if (LfwImages is not null) return new LfwPartsDataset(LfwImages, LfwMasks!, LfwPart);
        return null;
    }

    /// <summary>Training stream and validation set: composites and seeded validation composites, or a dataset split 9:1.
    /// Real photos (the dataset, or --mix) are augmented with <paramref name="realPhotos"/> (default
    /// <see cref="AugmentOptions.RealPhotos"/>).</summary>
    public (ITrainingSource Source, ISegmentationDataset Validation) TrainingData(int size, AugmentOptions? realPhotos = null)
    {
        realPhotos ??= AugmentOptions.RealPhotos;
        var dataset = Dataset();
        if (dataset is null)
        {
            // Training composites get the realism pass; the seeded validation composites stay the original kind,
            // so validation figures remain comparable across versions.
            var synth = Synthesizer(size);
            ITrainingSource composites = new SynthTrainingSource(synth.With(SynthOptions.Training with { AntialiasSources = realPhotos.AntialiasSources }));
            if (Mix is not null)
                composites = new MixedTrainingSource((composites, 1 - MixShare), (new AugmentedDatasetSource(new FolderPairsDataset(Mix, MixTargets == MixTargets.Soft ? new ForegroundRule.SoftProbability() : null), size, realPhotos), MixShare));
            return (composites, new SynthValidationSet(synth, ValCount, ValSeed));
        }
        var (train, val) = SubsetDataset.Split(dataset);
        return (new AugmentedDatasetSource(train, size, realPhotos), val);
    }
}

/// <summary>The live training display: one bar over all steps, with epoch, step, loss, IoU, images/s and ETA.</summary>
public static class TrainingView
{
    public static TrainResult Run(Trainer trainer, TrainOptions options, string runDir, bool resume, CancellationToken cancel)
    {
        TrainResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: (double)options.Epochs * options.StepsPerEpoch);
                var progress = new SyncProgress<TrainProgress>(p =>
                {
                    // --minutes refits the number of epochs as it goes, so the bar's length follows the plan.
                    task.MaxValue = (double)p.Epochs * p.StepsPerEpoch;
                    task.Value = (p.Epoch - 1) * (double)p.StepsPerEpoch + p.Step;
                    task.Description = Describe(p);
                });
                result = trainer.Run(runDir, resume, progress, cancel);
                task.Value = task.MaxValue;
            });
        return result!;
    }

    /// <summary>One line for a training bar: epoch, step, loss, last validation IoU, images/s, ETA, phase.</summary>
    public static string Describe(TrainProgress p)
    {
        var iou = p.LastValidationIoU is { } v ? v.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) : "-";
        return FormattableString.Invariant(
            $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:0.000} val IoU {iou} {p.ImagesPerSecond:0.0} img/s ETA {p.Remaining:hh\\:mm\\:ss} {p.Phase}");
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and lag the bar).</summary>
    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    public static void PrintHistory(TrainResult result)
    {
        var table = new Table().Title("training");
        table.AddColumns("epoch", "lr", "train loss", "val loss", "val IoU", "val Dice", "img/s", "s");
        foreach (var m in result.History)
            table.AddRow(I(m.Epoch), I($"{m.LearningRate:G3}"), I($"{m.TrainLoss:0.0000}"), I($"{m.ValidationLoss:0.0000}"),
                I($"{m.ValidationIoU:0.0000}"), I($"{m.ValidationDice:0.0000}"), I($"{m.ImagesPerSecond:0.0}"), I($"{m.Seconds:0}"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"best validation IoU {result.BestIoU.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)} at epoch {result.BestEpoch} ({result.Stopped})");
    }

    static string I(FormattableString s) => FormattableString.Invariant(s);
    static string I(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>How <c>--mix</c> masks become training targets.</summary>
public enum MixTargets { Soft, Hard }
