using System.ComponentModel;
using System.Globalization;
using MobileUNet.Export;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Platform;
using Spectre.Console;
using Spectre.Console.Cli;
using MobileUNet.Data;

namespace MobileUNet.Cli.Commands;

public sealed class ExportCommand : Command<ExportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "[MODEL]")]
        [Description("Trained weights (.munet). Omit with --untrained.")]
        public string? Model { get; init; }

        [CommandOption("-o|--output <PATH>")]
        [Description("ONNX file to write (atomically: temp file, then rename).")]
        public string? Output { get; init; }

        [CommandOption("--untrained")]
        [Description("Export a freshly initialised model of --alpha / --size (for speed work).")]
        public bool Untrained { get; init; }

        [CommandOption("-a|--alpha <ALPHA>")]
        [Description("Width multiplier in (0, 1]] (with --untrained). Default 1.")]
        public double? Alpha { get; init; }

        [CommandOption("--alpha-up <ALPHA>")]
        [Description("Decoder width multiplier (with --untrained). Defaults to --alpha.")]
        public double? AlphaUp { get; init; }

        [CommandOption("-s|--size <SIZE>")]
        [Description("Input size, a multiple of 32 (with --untrained). Default 224.")]
        public int? Size { get; init; }

        [CommandOption("-u|--upsampling <KIND>")]
        [Description("Decoder upsampling (with --untrained): TransposedConv, BilinearConv or NearestConv.")]
        [DefaultValue(Upsampling.TransposedConv)]
        public Upsampling Upsampling { get; init; }

        [CommandOption("--seed <SEED>")]
        [Description("Initialisation seed for --untrained.")]
        [DefaultValue(0)]
        public int Seed { get; init; }

        [CommandOption("--part <PART>")]
        [Description("full, encoder (outputs the six features) or decoder (takes them).")]
        [DefaultValue(OnnxPart.Full)]
        public OnnxPart Part { get; init; }

        [CommandOption("--precision <PRECISION>")]
        [Description("fp32, fp16 (float16 weights and compute) or int8 (static QDQ, calibrated).")]
        [DefaultValue(OnnxPrecision.Fp32)]
        public OnnxPrecision Precision { get; init; }

        [CommandOption("--float16-io")]
        [Description("fp16 only: float16 input and output instead of float32.")]
        public bool Float16Io { get; init; }

        [CommandOption("--transposed-conv <FORM>")]
        [Description("How the graph spells the 2x2 transposed conv: ConvTranspose or ConvDepthToSpace (1x1 conv + DepthToSpace). Default: the faster for the precision.")]
        public TransposedConvForm? TransposedConv { get; init; }

        [CommandOption("--calibration <DIR>")]
        [Description("int8: folder of images (png, jpg, webp, bmp) whose activations set the int8 ranges.")]
        public string? Calibration { get; init; }

        [CommandOption("--calibration-count <N>")]
        [Description("int8: at most this many calibration images (synthetic ones without --calibration).")]
        [DefaultValue(32)]
        public int CalibrationCount { get; init; }

        [CommandOption("--threshold <P>")]
        [Description("Mask threshold recorded in the metadata.")]
        [DefaultValue(0.5f)]
        public float Threshold { get; init; }

        public override ValidationResult Validate()
        {
            if (Untrained == (Model is not null))
                return ValidationResult.Error("give a MODEL.munet, or --untrained with --alpha and --size.");
            if (!Untrained && (Alpha is not null || Size is not null || AlphaUp is not null))
                return ValidationResult.Error("--alpha, --alpha-up and --size describe an --untrained model; a MODEL file carries its own spec.");
            if (Output is null) return ValidationResult.Error("--output is required.");
            if (Float16Io && Precision != OnnxPrecision.Fp16) return ValidationResult.Error("--float16-io needs --precision fp16.");
            if (Calibration is not null && Precision != OnnxPrecision.Int8) return ValidationResult.Error("--calibration is for --precision int8.");
            return OptionChecks.Result(
                Limits.RangeError("--calibration-count", CalibrationCount, 1, Limits.MaxCount),
                ModelSpec.InputSizeError(Size, "--size"),
                Limits.ThresholdError(Threshold, "--threshold"));
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        OutputPaths.CheckFile(settings.Output!, settings.Model, settings.Calibration);
        using var model = LoadModel(settings, out var normalization);

        // int8 calibration runs the fp32 model over every image: seconds at alpha 1 / 224, so show that work is going on.
        AnsiConsole.Status().Start($"exporting {model.Spec.Label} ({settings.Precision})", status =>
        {
            Int8Calibration? calibration = null;
            if (settings.Precision == OnnxPrecision.Int8)
            {
                status.Status("reading calibration images");
                calibration = Calibration(settings, model.Spec, normalization);
                status.Status($"calibrating and quantising on {calibration.Source}");
            }
            var options = new OnnxExportOptions
            {
                Part = settings.Part,
                Precision = settings.Precision,
                Float16Io = settings.Float16Io,
                Normalization = normalization,
                Threshold = settings.Threshold,
                TransposedConvForm = settings.TransposedConv,
                Calibration = calibration,
            };
            OnnxExporter.Export(model, settings.Output!, options);
        });
        var size = new FileInfo(settings.Output!).Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {settings.Output} ({model.Spec.Label}, {settings.Part}, {settings.Precision}, {size / 1024.0:0.0} KiB)"));
        return 0;
    }

    static Model.MobileUNet LoadModel(Settings settings, out Normalization normalization)
    {
        var source = settings.Untrained
            ? new ModelSource.Untrained(new ModelSpec(settings.Alpha ?? 1.0, settings.Size ?? 224, settings.Upsampling, settings.AlphaUp), settings.Seed)
            : ModelSource.Parse(settings.Model!);
        var (model, trainedWith) = source.LoadTorch();
        model.eval();
        normalization = trainedWith;
        return model;
    }

    static Int8Calibration Calibration(Settings settings, ModelSpec spec, Normalization normalization) =>
        settings.Calibration is { } dir
            ? Int8Calibration.FromFolder(dir, spec.InputSize, normalization, settings.CalibrationCount)
            : Int8Calibration.Synthetic(spec.InputSize, settings.CalibrationCount, settings.Seed);
}
