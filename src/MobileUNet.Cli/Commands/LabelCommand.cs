using System.ComponentModel;
using MobileUNet.Data;
using MobileUNet.Inference;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>`mobileunet data label -m TEACHER PHOTOS... -o OUT`: a teacher model labels photos for training.</summary>
public sealed class LabelCommand : Command<LabelCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<IMAGE|FOLDER>")]
        [Description("Photos, or folders of photos, to label.")]
        public string[] Inputs { get; init; } = [];

        [CommandOption("-m|--model <NAME|PATH>")]
        [Description("The teacher: a shipped model, a .munet, or an .onnx (e.g. MediaPipe selfie imported with `mobileunet import`).")]
        public string Model { get; init; } = "";

        [CommandOption("-o|--output <DIR>")]
        [Description("Dataset folder: OUT/images (the photos, copied) and OUT/masks (teacher probability x 255, PNG). Reruns resume.")]
        public string Output { get; init; } = "";

        [CommandOption("--threads <N>")]
        [Description(RuntimeSettings.Help.Threads)]
        public int? Threads { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Model) ? ValidationResult.Error("-m/--model (the teacher) is required.")
            : string.IsNullOrEmpty(Output) ? ValidationResult.Error("-o/--output is required.")
            : Inputs.Length == 0 ? ValidationResult.Error("give at least one photo or folder.")
            : RuntimeSettings.Check(Threads, RuntimeOptions.DefaultExecutionProvider, threshold: null);
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Platform.OutputPaths.CheckFolder(settings.Output, [settings.Model, .. settings.Inputs]);
        var photos = settings.Inputs.SelectMany(PredictCommand.Inputs).ToList();
        using var teacher = SegmenterFactory.Open(settings.Model, RuntimeSettings.Options(Backend.Onnx, settings.Threads, RuntimeOptions.DefaultExecutionProvider, pipelined: false));
        LabelSummary? summary = null;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("labelling", maxValue: photos.Count);
                summary = TeacherLabels.Run(teacher, photos, settings.Output, ImageLimits.Default, new Progress(v => task.Value = v), cancellationToken);
            });
        AnsiConsole.WriteLine($"labelled {summary!.Labelled}, already done {summary.Skipped}, failed {summary.Failed.Count} -> {settings.Output}");
        return summary.Failed.Count == 0 ? 0 : 1;
    }

    sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
