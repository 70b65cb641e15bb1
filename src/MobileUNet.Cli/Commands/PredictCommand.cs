using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using MobileUNet.Batch;
using MobileUNet.Data;
using MobileUNet.Inference;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>
/// `mobileunet predict [-m MODEL] INPUT... -o DIR`: segments any number of photos through the streaming
/// <see cref="PhotoBatch"/> pipeline; bounded memory, bad files skipped, resumable, shardable.
/// </summary>
public sealed class PredictCommand : Command<PredictCommand.Settings>
{
    public sealed class Settings : BackendSettings
    {
        [CommandArgument(0, "[INPUT]")]
        [Description("Images, folders of images (png, jpg, webp, bmp, ppm) or globs ('photos/*.jpg', 'bucket/**/*.jpg'; quote them).")]
        public string[] Inputs { get; init; } = [];

        [CommandOption("--list <FILE>")]
        [Description("A file of photo paths, one a line ('#' comments; relative paths are relative to the list's folder).")]
        public string? List { get; init; }

        [CommandOption("-m|--model <NAME|PATH>")]
        [Description("A shipped model (person, person-160, hair), a .munet weights file written by train, or an .onnx export.")]
        [DefaultValue(ModelChoice.Default)]
        public string Model { get; init; } = ModelChoice.Default;

        [CommandOption("-o|--output|--out <DIR>")]
        [Description("Writes NAME.EXT.KIND.png per photo (e.g. photo.jpg.mask.png) and manifest-K-of-N.jsonl here; a rerun skips photos already done.")]
        [DefaultValue("runs/predict")]
        public string Out { get; init; } = "runs/predict";

        [CommandOption("--output-kind <KINDS>")]
        [Description("Comma separated: mask (0/255 PNG), overlay (tinted photo), matte (probability x 255), cutout (RGBA, alpha = matte), json (size, foreground fraction, box).")]
        [DefaultValue("mask,overlay")]
        public string OutputKind { get; init; } = "mask,overlay";

        [CommandOption("--cutout-format <FORMAT>")]
        [Description("png or webp (lossless).")]
        [DefaultValue(CutoutFormat.Png)]
        public CutoutFormat CutoutFormat { get; init; } = CutoutFormat.Png;

        [CommandOption("--batch <N>")]
        [Description("Photos per inference call.")]
        [DefaultValue(4)]
        public int Batch { get; init; } = 4;

        [CommandOption("--workers <N>")]
        [Description("Workers for each of decode, post-process and encode (default: one per core).")]
        public int? Workers { get; init; }

        [CommandOption("--memory-budget <MB>")]
        [Description("Megabytes of photo buffers in flight at once; decoding waits above it (a larger photo runs alone).")]
        [DefaultValue(384)]
        public int MemoryBudget { get; init; } = 384;

        [CommandOption("--shard <K/N>")]
        [Description("Process only shard K of N (0-based, 0 <= K < N): photo p of the sorted list when p % N == K. Default 0/1.")]
        [DefaultValue("0/1")]
        public string Shard { get; init; } = "0/1";

        [CommandOption("--fail-fast")]
        [Description("Stop at the first photo that cannot be read, with its error, instead of skipping it.")]
        public bool FailFast { get; init; }

        [CommandOption("--max-pixels <N>")]
        [Description("Refuse images whose header claims more pixels than this (checked before decoding).")]
        [DefaultValue(ImageLimits.DefaultMaxPixels)]
        public long MaxPixels { get; init; } = ImageLimits.DefaultMaxPixels;

        public override ValidationResult Validate()
        {
            if (base.Validate() is { Successful: false } runtime) return runtime;
            if (MaxPixels is < 1 or > ImageLimits.HardMaxPixels) return ValidationResult.Error($"--max-pixels must be 1..{ImageLimits.HardMaxPixels}.");
            if (Inputs.Length == 0 && List is null) return ValidationResult.Error("give at least one image, folder or glob, or --list FILE.");
            if (Batch < 1) return ValidationResult.Error("--batch must be at least 1.");
            if (Workers is < 1) return ValidationResult.Error("--workers must be at least 1.");
            if (MemoryBudget < 16) return ValidationResult.Error("--memory-budget must be at least 16 (MB).");
            if (MobileUNet.Platform.Limits.RangeError("--batch", Batch, 1, MobileUNet.Platform.Limits.MaxBatch) is { } batch) return ValidationResult.Error(batch);
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        MobileUNet.Platform.OutputPaths.CheckFolder(settings.Out, [settings.Model, settings.List, .. settings.Inputs]);
        var kinds = PhotoOutputs.Parse(settings.OutputKind);
        var shard = Shard.Parse(settings.Shard);
        var options = new BatchOptions
        {
            Kinds = kinds,
            CutoutFormat = settings.CutoutFormat,
            Batch = settings.Batch,
            Workers = settings.Workers ?? Environment.ProcessorCount,
            MemoryBudgetBytes = (long)settings.MemoryBudget << 20,
            Limits = ImageLimits.WithMaxPixels(settings.MaxPixels),
            FailFast = settings.FailFast,
            Threshold = settings.Threshold,   // null: the model's own
        };
        // Decode, post-process and encode share the cores with inference (see RuntimeSettings.Runtime).
        using var segmenter = SegmenterFactory.Open(settings.Model, settings.Runtime(pipelined: true));
        var photos = PhotoList.Slice(PhotoList.Expand(settings.Inputs, settings.List, exclude: settings.Out), shard);

        // Ctrl-C or SIGTERM (a cluster pre-empting the job) stops decoding; photos in flight finish and are recorded.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = !stop.IsCancellationRequested; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = !stop.IsCancellationRequested; stop.Cancel(); });
        BatchSummary summary;
        try
        {
            summary = RunWithProgress(new PhotoBatch(segmenter, options), photos, settings.Out, shard, stop.Token);
        }
        finally { Console.CancelKeyPress -= onCancel; }

        var inv = CultureInfo.InvariantCulture;
        var stages = string.Join(", ", summary.StageMsPerPhoto.Select(kv => $"{kv.Key} {kv.Value.ToString("F1", inv)}"));
        Console.WriteLine(string.Create(inv,
            $"predicted {summary.Done}, already done {summary.Skipped}, failed {summary.Failures.Count} of {summary.Total} (shard {shard}) in {summary.WallSeconds:F1} s, {summary.PhotosPerSecond:F2} photos/s -> {settings.Out}"));
        Console.WriteLine($"busy ms per photo: {stages}; bottleneck {summary.Bottleneck}; manifest {summary.Manifest}");
        foreach (var f in summary.Failures) Console.WriteLine($"failed: {f.Input}");
        return summary.Failures.Count == 0 ? 0 : 1;
    }

    /// <summary>The progress bar goes to stderr, and only on a terminal; skipped files are one stderr line each.</summary>
    static BatchSummary RunWithProgress(PhotoBatch batch, IReadOnlyList<PhotoInput> photos, string outDir, Shard shard, CancellationToken stop)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        bool interactive = console.Profile.Capabilities.Interactive;
        void OnFailure(ManifestEntry e)
        {
            if (interactive) console.MarkupLineInterpolated($"[yellow]skipped[/] {e.Error}");
            else Console.Error.WriteLine($"skipped {e.Error}");
        }
        var work = Task.Run(() => batch.Run(photos, outDir, shard, OnFailure, stop));
        if (!interactive) return work.GetAwaiter().GetResult();
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: 1);
                while (!work.IsCompleted)
                {
                    work.Wait(250);
                    var s = batch.Stats;
                    task.MaxValue = Math.Max(1, s.Total);
                    task.Value = Math.Min(s.Finished, task.MaxValue);
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{s.Finished}/{s.Total} photos  {s.PhotosPerSecond:F1} photos/s  skipped {s.Skipped}  failed {s.Failed}"));
                }
                task.Value = task.MaxValue;
            });
        return work.GetAwaiter().GetResult();
    }

    /// <summary>The image files an argument names: the file itself, or a folder's images in ordinal order.</summary>
    public static IReadOnlyList<string> Inputs(string input)
    {
        if (File.Exists(input)) return [input];
        if (!Directory.Exists(input)) throw new FileNotFoundException($"{input}: no such image or folder.", input);
        var files = Directory.EnumerateFiles(input).Where(ImageFile.IsImage).Order(StringComparer.Ordinal).ToList();
        return files.Count > 0 ? files : throw new InvalidDataException($"{input}: no images (png, jpg, webp, bmp, ppm).");
    }
}
