using System.ComponentModel;
using MobileUNet.Video;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>`mobileunet video-sample -o clip.mp4`: the repo's own licence-clean test and demo clip.</summary>
public sealed class VideoSampleCommand : Command<VideoSampleCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-o|--output <FILE>")]
        [Description("Output clip (.mp4).")]
        public string Output { get; init; } = "";

        [CommandOption("--width <W>")]
        [DefaultValue(160)]
        public int Width { get; init; } = 160;

        [CommandOption("--height <H>")]
        [DefaultValue(120)]
        public int Height { get; init; } = 120;

        [CommandOption("--frames <N>")]
        [DefaultValue(64)]
        public int Frames { get; init; } = 64;

        [CommandOption("--fps <FPS>")]
        [DefaultValue(25.0)]
        public double Fps { get; init; } = 25;

        [CommandOption("--no-audio")]
        [Description("Leave out the 440 Hz tone.")]
        public bool NoAudio { get; init; }

        [CommandOption("--ffmpeg <PATH>")]
        [Description("The ffmpeg program. Default: ffmpeg on PATH.")]
        public string? Ffmpeg { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Output) ? ValidationResult.Error("--output is required") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Platform.OutputPaths.CheckFile(settings.Output);
        SampleClip.Write(FfmpegTools.FromFfmpegPath(settings.Ffmpeg), settings.Output,
            new SampleClipOptions(settings.Width, settings.Height, settings.Frames, settings.Fps, !settings.NoAudio));
        AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(Path.GetFullPath(settings.Output))}[/] ({settings.Frames} frames, {settings.Width}x{settings.Height})");
        return 0;
    }
}
