using System.ComponentModel;
using MobileUNet.Benchmarks;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>`mobileunet bench merge A.json B.json ... -o DIR`: several machines' bench records in one table and chart.</summary>
public sealed class BenchMergeCommand : Command<BenchMergeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<BENCH_JSON>")]
        [Description("bench.json files written by `mobileunet bench`.")]
        public string[] Files { get; init; } = [];

        [CommandOption("-o|--output <DIR>")]
        [Description("Output folder for merged.md, merged.csv and the charts.")]
        [DefaultValue("runs/bench/merged")]
        public string Output { get; init; } = "runs/bench/merged";

        public override ValidationResult Validate() =>
            Files.Length == 0 ? ValidationResult.Error("bench merge needs at least one bench.json.") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Platform.OutputPaths.CheckFolder(settings.Output, settings.Files);
        var docs = settings.Files.Select(BenchDocument.Load).ToList();
        var written = BenchOutput.Write(settings.Output, docs, merged: true);
        AnsiConsole.Write(new Text(BenchTables.MergedMarkdown(docs)));
        AnsiConsole.MarkupLine($"wrote {written.Count} files to [bold]{Markup.Escape(settings.Output)}[/]");
        return 0;
    }
}
