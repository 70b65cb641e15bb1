using System.ComponentModel;
using MobileUNet.Benchmarks;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>`mobileunet bench report bench.json -o DIR`: redraws the tables and charts of a recorded run (no timing).</summary>
public sealed class BenchReportCommand : Command<BenchReportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<BENCH_JSON>")]
        [Description("bench.json written by `mobileunet bench`.")]
        public string File { get; init; } = "";

        [CommandOption("-o|--output <DIR>")]
        [Description("Output folder. Default: the folder of BENCH_JSON.")]
        public string? Output { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var doc = BenchDocument.Load(settings.File);
        var output = settings.Output ?? Path.GetDirectoryName(Path.GetFullPath(settings.File))!;
        Platform.OutputPaths.CheckFolder(output, settings.File);
        var written = BenchOutput.Write(output, [doc]);
        AnsiConsole.MarkupLine($"wrote {written.Count} files to [bold]{Markup.Escape(output)}[/]");
        return 0;
    }
}
