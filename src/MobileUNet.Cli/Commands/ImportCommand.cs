using System.ComponentModel;
using System.Globalization;
using MobileUNet.Export.Tflite;
using MobileUNet.Inference;
using Spectre.Console;
using Spectre.Console.Cli;
using MobileUNet.Data;

namespace MobileUNet.Cli.Commands;

/// <summary>`mobileunet import FILE.tflite -o FILE.onnx`: a TFLite segmentation model as an ONNX model with our metadata.</summary>
public sealed class ImportCommand : Command<ImportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<FILE.tflite>")]
        [Description("A float32 TFLite segmentation model with a square RGB input, e.g. MediaPipe's selfie_segmentation.tflite.")]
        public string Input { get; init; } = "";

        [CommandOption("-o|--output <FILE.onnx>")]
        [Description("ONNX file to write (atomically: temp file, then rename); never the input.")]
        public string Output { get; init; } = "";

        [CommandOption("--mean <R,G,B>")]
        [Description("Per-channel mean subtracted from RGB in [[0, 1]] before the model, recorded in the metadata.")]
        [DefaultValue("0,0,0")]
        public string Mean { get; init; } = "0,0,0";

        [CommandOption("--std <R,G,B>")]
        [Description("Per-channel standard deviation the RGB values are divided by. MediaPipe takes RGB in [[0, 1]]: mean 0, std 1.")]
        [DefaultValue("1,1,1")]
        public string Std { get; init; } = "1,1,1";

        [CommandOption("--threshold <T>")]
        [Description("Foreground probability threshold recorded for consumers.")]
        [DefaultValue(0.5f)]
        public float Threshold { get; init; } = 0.5f;

        [CommandOption("--name <NAME>")]
        [Description("Architecture name in the spec and labels. Default: the file name without extension.")]
        public string? Name { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Input) ? ValidationResult.Error("give the .tflite file to import.")
            : string.IsNullOrEmpty(Output) ? ValidationResult.Error("-o/--output (the .onnx to write) is required.")
            : !(Threshold is > 0 and < 1) ? ValidationResult.Error("--threshold must be in (0, 1).")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Platform.OutputPaths.CheckFile(settings.Output, settings.Input);
        var options = new TfliteImportOptions
        {
            Normalization = new Normalization(Triple(settings.Mean, "--mean"), Triple(settings.Std, "--std", positive: true)),
            Threshold = settings.Threshold,
            Architecture = settings.Name,
        };
        var summary = TfliteImporter.Import(settings.Input, settings.Output, options);
        var size = new FileInfo(settings.Output).Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {settings.Output} ({summary.Spec.Label}, {summary.Operators} ops, {summary.Parameters:N0} parameters, {summary.Macs / 1e6:0.0} M MACs, {size / 1024.0:0.0} KiB)"));
        AnsiConsole.MarkupLine(Markup.Escape("ops: " + string.Join(", ", summary.OperatorCounts.Select(p => $"{p.Key} x{p.Value}"))));
        return 0;
    }

    static float[] Triple(string text, string option, bool positive = false)
    {
        var values = OptionChecks.TryNumbers(text, 3, out var parsed) ? parsed.Select(v => (float)v).ToArray() : null;
        return values is not null && values.All(v => float.IsFinite(v) && (!positive || v > 0)) ? values
            : throw new ArgumentException($"{option} {text}: expected three {(positive ? "positive " : "")}numbers R,G,B.");
    }
}
