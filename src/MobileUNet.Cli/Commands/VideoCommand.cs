using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Platform;
using MobileUNet.Video;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>`mobileunet video INPUT -o OUTPUT`: segment every frame of a video, image sequence or camera.</summary>
public sealed class VideoCommand : Command<VideoCommand.Settings>
{
    public sealed class Settings : BackendSettings
    {
        [CommandArgument(0, "<INPUT>")]
        [Description("A video file, an image sequence (folder or glob such as 'frames/*.png'), or a camera (/dev/videoN).")]
        public string Input { get; init; } = "";

        [CommandOption("-o|--output <FILE>")]
        [Description("Output video (H.264; .mp4 recommended). Written to a temp file and renamed when complete.")]
        public string Output { get; init; } = "";

        [CommandOption("-k|--kind <KIND>")]
        [Description("Mask, Overlay, Matte or Background.")]
        [DefaultValue(OutputKind.Overlay)]
        public OutputKind Kind { get; init; } = OutputKind.Overlay;

        [CommandOption("--background <SPEC>")]
        [Description("For --kind Background: blur[[:RADIUS]], color:#RRGGBB or image:PATH. Default blur.")]
        public string? Background { get; init; }

        [CommandOption("--smooth <MOMENTUM>")]
        [Description("Temporal smoothing: EMA momentum in [[0, 1) over the probabilities (0.6 is a good start). Off by default.")]
        public double? Smooth { get; init; }

        [CommandOption("-m|--model <NAME|PATH>")]
        [Description("A shipped model (person, person-160, hair), a .munet weights file or an .onnx export. Default: person, unless --untrained or --alpha/--size ask for an untrained model (speed only).")]
        public string? Model { get; init; }

        [CommandOption("--untrained")]
        [Description("Run an untrained model of --alpha / --size (speed only; the masks mean nothing).")]
        public bool Untrained { get; init; }

        [CommandOption("-a|--alpha <ALPHA>")]
        [Description("Untrained model's width multiplier. Default 0.5.")]
        public double? Alpha { get; init; }

        [CommandOption("-s|--size <SIZE>")]
        [Description("Untrained model's input size. Default 128.")]
        public int? Size { get; init; }

        [CommandOption("--queue <N>")]
        [Description("Capacity of each queue between stages (frames alive at once = 5 + 4 x N).")]
        [DefaultValue(4)]
        public int Queue { get; init; } = 4;

        [CommandOption("--fps <FPS>")]
        [Description("Frame rate of an image-sequence input.")]
        [DefaultValue(25.0)]
        public double Fps { get; init; } = 25;

        [CommandOption("--max-frames <N>")]
        [Description("Stop after N frames (cameras run until Ctrl-C otherwise).")]
        public long? MaxFrames { get; init; }

        [CommandOption("--preset <PRESET>")]
        [Description("libx264 preset.")]
        [DefaultValue("veryfast")]
        public string Preset { get; init; } = "veryfast";

        [CommandOption("--ffmpeg <PATH>")]
        [Description("The ffmpeg program (ffprobe is taken from beside it). Default: ffmpeg on PATH.")]
        public string? Ffmpeg { get; init; }

        [CommandOption("--summary <FILE>")]
        [Description("Also write the JSON summary to this file.")]
        public string? Summary { get; init; }

        public override ValidationResult Validate()
        {
            if (base.Validate() is { Successful: false } runtime) return runtime;
            if (string.IsNullOrWhiteSpace(Output)) return ValidationResult.Error("--output is required");
            if (Smooth is < 0 or >= 1) return ValidationResult.Error("--smooth must be in [0, 1)");
            if (OptionChecks.Result(
                    Limits.RangeError("--queue", Queue, 1, Limits.MaxQueue),
                    ModelSpec.InputSizeError(Size, "--size"),
                    MaxFrames is < 1 ? $"--max-frames must be at least 1, got {MaxFrames}." : null,
                    Fps > 0 && Fps <= 1000 ? null : FormattableString.Invariant($"--fps must be in (0, 1000], got {Fps}.")) is { Successful: false } limits)
                return limits;
            if (Kind != OutputKind.Background && Background is not null) return ValidationResult.Error("--background needs --kind Background");
            if (Model is not null && (Untrained || Alpha is not null || Size is not null))
                return ValidationResult.Error("--alpha/--size/--untrained choose an untrained model; they do not go with -m/--model.");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // The output must not be the input (a video, the --background image or the model file) and must be writable.
        OutputPaths.CheckFile(settings.Output, settings.Input, settings.Model,
            settings.Background is { } bg && bg.StartsWith("image:", StringComparison.Ordinal) ? bg["image:".Length..] : null);
        if (settings.Summary is not null) OutputPaths.CheckFile(settings.Summary, settings.Input, settings.Model, settings.Output);
        var options = new VideoJobOptions(
            settings.Input, settings.Output, settings.Kind,
            settings.Background is null ? null : BackgroundSpec.Parse(settings.Background),
            settings.Smooth, settings.Threshold, settings.Queue, settings.Fps, settings.MaxFrames,
            FfmpegTools.FromFfmpegPath(settings.Ffmpeg), new EncoderOptions(Preset: settings.Preset));
        var job = new VideoJob(options);
        // Decode, pre/post-processing and ffmpeg's encoder share the cores with inference (see RuntimeSettings.Runtime).
        using var segmenter = VideoSegmenters.Open(settings.Untrained || settings.Alpha is not null || settings.Size is not null ? null : settings.Model ?? ModelChoice.Default, settings.Alpha ?? 0.5, settings.Size ?? 128, settings.Runtime(pipelined: true), out var label);

        // Ctrl-C stops decoding; the frames in flight drain and the file is finished properly.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The exit code says the file is short because of a signal: 128 + SIGINT (2) or SIGTERM (15).
        string? signal = null;
        // A second Ctrl-C is let through: it ends the process at once (the temp file is then left, never the output).
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = !stop.IsCancellationRequested;
            signal ??= "SIGINT";
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (kill, a service manager, a container stop) takes the same path. It also covers runs whose
        // SIGINT is ignored from birth, as for any job a non-interactive shell starts with '&': .NET then leaves
        // SIGINT ignored and Ctrl-C handlers never fire.
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = !stop.IsCancellationRequested;
            signal ??= "SIGTERM";
            stop.Cancel();
        });
        VideoReport report;
        try
        {
            report = RunWithProgress(job, segmenter, label, stop.Token);
        }
        finally { Console.CancelKeyPress -= onCancel; }

        var json = JsonSerializer.Serialize(report, RecordJson.Options);
        if (settings.Summary is not null) AtomicFile.WriteAllBytes(settings.Summary, System.Text.Encoding.UTF8.GetBytes(json + "\n"));
        Console.WriteLine(json);
        // A shorter file is kept (it is valid), but the run did not do what was asked: say so and exit non-zero.
        var of = report.ExpectedFrames is { } expected ? $" of {expected}" : "";
        if (signal is not null)
        {
            Console.Error.WriteLine($"warning: {settings.Input}: stopped by {signal} after {report.Frames}{of} frames; {settings.Output} holds those frames.");
            return signal == "SIGINT" ? 130 : 143;
        }
        if (report.Problem is { } problem)
        {
            Console.Error.WriteLine($"warning: {settings.Input}: {problem}; {settings.Output} holds the {report.Frames} frames decoded.");
            return 1;
        }
        return 0;
    }

    /// <summary>The progress bar goes to stderr so stdout carries only the JSON summary.</summary>
    static VideoReport RunWithProgress(VideoJob job, ISegmenter segmenter, string label, CancellationToken stop)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var work = Task.Run(() => job.Run(segmenter, label, stop));
        if (!console.Profile.Capabilities.Interactive)
            return work.GetAwaiter().GetResult();
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: job.ExpectedFrames ?? 1);
                task.IsIndeterminate = job.ExpectedFrames is null;
                while (!work.IsCompleted)
                {
                    work.Wait(250);
                    if (job.Stats is { } s)
                    {
                        task.Value = Math.Min(s.FramesDone, task.MaxValue);
                        task.Description = Markup.Escape(Describe(s));
                    }
                }
                task.Value = task.MaxValue;
            });
        return work.GetAwaiter().GetResult();
    }

    static string Describe(PipelineStats s)
    {
        var inv = CultureInfo.InvariantCulture;
        var stages = string.Join(" ", s.Stages.Select(st => $"{Short(st.Stage)} {st.Fps.ToString("F0", inv)}"));
        return $"{s.FramesDone} frames  {s.EndToEndFps.ToString("F1", inv)} fps  [{stages}]  bottleneck {s.Bottleneck.Stage}";
    }

    static string Short(Stage s) => s switch
    {
        Stage.Decode => "dec",
        Stage.PreProcess => "pre",
        Stage.Infer => "inf",
        Stage.PostProcess => "post",
        _ => "enc",
    };
}

/// <summary>
/// The model the video command runs, on the runtime it was asked for (ONNX Runtime by default, TorchSharp with
/// <c>--backend Torch</c>); everything downstream takes an <see cref="ISegmenter"/>.
/// </summary>
public static class VideoSegmenters
{
    public static ISegmenter Open(string? modelPath, double alpha, int size, RuntimeOptions runtime, out string label)
    {
        var segmenter = modelPath is not null
            ? SegmenterFactory.Open(modelPath, runtime)
            : SegmenterFactory.OpenUntrained(new ModelSpec(alpha, size), runtime);
        string backendName = runtime.Backend.ToString().ToLowerInvariant();
        label = modelPath is not null
            ? $"{Path.GetFileName(modelPath)} ({segmenter.Spec}, {backendName})"
            : $"untrained ({segmenter.Spec}, {backendName})";
        return segmenter;
    }
}
