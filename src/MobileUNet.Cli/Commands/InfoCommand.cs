using MobileUNet.Platform;
using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using MobileUNet.Model;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

public sealed class InfoCommand : Command<InfoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-a|--alpha <ALPHA>")]
        [Description("Width multiplier in (0, 1]]. Default 1.")]
        public double? Alpha { get; init; }

        [CommandOption("--alpha-up <ALPHA>")]
        [Description("Decoder width multiplier in (0, 1]]. Defaults to --alpha.")]
        public double? AlphaUp { get; init; }

        [CommandOption("-s|--size <SIZE>")]
        [Description("Input size: a multiple of 32, at least 32. Default 224.")]
        public int? Size { get; init; }

        [CommandOption("-u|--upsampling <KIND>")]
        [Description("Decoder upsampling: TransposedConv (original), BilinearConv or NearestConv.")]
        [DefaultValue(Upsampling.TransposedConv)]
        public Upsampling Upsampling { get; init; }

        [CommandOption("--grid")]
        [Description("Summarise every alpha x size of the grid instead of one model's layers.")]
        public bool Grid { get; init; }

        [CommandOption("--alphas <LIST>")]
        [Description("Grid alphas, comma separated.")]
        [DefaultValue("1,0.75,0.5,0.25")]
        public string Alphas { get; init; } = "1,0.75,0.5,0.25";

        [CommandOption("--sizes <LIST>")]
        [Description("Grid sizes, comma separated.")]
        [DefaultValue("224,192,160,128")]
        public string Sizes { get; init; } = "224,192,160,128";

        [CommandOption("--json")]
        [Description("Write JSON to stdout instead of a table.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() => OptionChecks.Result(ModelSpec.InputSizeError(Size, "--size"));
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Grid)
        {
            var specs = GridOptions.Specs(settings.Alphas, settings.Sizes, settings.Upsampling);
            var summaries = specs.Select(ModelSummary.Of).ToList();
            if (settings.Json) Console.WriteLine(JsonSerializer.Serialize(summaries.Select(GridRow.Of), RecordJson.Options));
            else AnsiConsole.Write(GridTable(summaries));
            return 0;
        }

        var spec = new ModelSpec(settings.Alpha ?? 1.0, settings.Size ?? 224, settings.Upsampling, settings.AlphaUp);
        var summary = ModelSummary.Of(spec);
        if (settings.Json) Console.WriteLine(JsonSerializer.Serialize(summary, RecordJson.Options));
        else AnsiConsole.Write(LayerTable(summary));
        return 0;
    }

    /// <summary>One grid row as data, for the JSON form of --grid.</summary>
    public sealed record GridRow(ModelSpec Spec, long Parameters, long Macs, long EncoderParameters, long DecoderParameters, long EncoderMacs, long DecoderMacs)
    {
        public static GridRow Of(ModelSummary s) =>
            new(s.Spec, s.Parameters, s.Macs, s.EncoderParameters, s.DecoderParameters, s.EncoderMacs, s.DecoderMacs);
    }

    static Table LayerTable(ModelSummary summary)
    {
        var table = new Table().Title(Markup.Escape(summary.Spec.ToString()));
        table.AddColumns("layer", "kind", "part", "output shape");
        table.AddColumn(new TableColumn("params").RightAligned());
        table.AddColumn(new TableColumn("MACs").RightAligned());
        foreach (var l in summary.Layers)
            table.AddRow(l.Name, l.Kind, l.Part, Markup.Escape("[" + string.Join(",", l.OutputShape) + "]"), N(l.Parameters), N(l.Macs));
        table.AddEmptyRow();
        table.AddRow("encoder", "", "", "", N(summary.EncoderParameters), N(summary.EncoderMacs));
        table.AddRow("decoder", "", "", "", N(summary.DecoderParameters), N(summary.DecoderMacs));
        table.AddRow("[bold]total[/]", "", "", "", $"[bold]{N(summary.Parameters)}[/]", $"[bold]{N(summary.Macs)}[/]");
        return table;
    }

    static Table GridTable(IReadOnlyList<ModelSummary> summaries)
    {
        var table = new Table().Title("MobileUNet grid");
        table.AddColumns("alpha", "size", "upsampling");
        foreach (var c in new[] { "params", "MACs", "encoder MACs", "decoder MACs" })
            table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var s in summaries)
            table.AddRow(s.Spec.Alpha.ToString(CultureInfo.InvariantCulture), s.Spec.InputSize.ToString(CultureInfo.InvariantCulture),
                s.Spec.Upsampling.ToString(), N(s.Parameters), N(s.Macs), N(s.EncoderMacs), N(s.DecoderMacs));
        return table;
    }

    static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
