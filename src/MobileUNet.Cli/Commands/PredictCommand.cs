using System.ComponentModel;
using MobileUNet.Data;
using MobileUNet.Inference;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

public sealed class PredictCommand : Command<PredictCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<IMAGE|FOLDER>")]
        [Description("Images, or folders of images (png, jpg, webp, bmp, ppm).")]
        public string[] Inputs { get; init; } = [];

        [CommandOption("-m|--model <NAME|PATH>")]
        [Description("A shipped model (person, hair), a .munet weights file written by train, or an .onnx export.")]
        [DefaultValue(ModelChoice.Default)]
        public string Model { get; init; } = ModelChoice.Default;

        [CommandOption("-o|--output|--out <DIR>")]
        [Description("Writes NAME.mask.png (0/255) and NAME.overlay.png (mask tinted over the photo) here.")]
        [DefaultValue("runs/predict")]
        public string Out { get; init; } = "runs/predict";

        [CommandOption("--threshold <T>")]
        [DefaultValue(0.5f)]
        public float Threshold { get; init; } = 0.5f;

        [CommandOption("--max-pixels <N>")]
        [Description("Refuse images whose header claims more pixels than this (checked before decoding).")]
        [DefaultValue(ImageLimits.DefaultMaxPixels)]
        public long MaxPixels { get; init; } = ImageLimits.DefaultMaxPixels;

        public override ValidationResult Validate() =>
            MaxPixels is >= 1 and <= ImageLimits.HardMaxPixels ? ValidationResult.Success()
                : ValidationResult.Error($"--max-pixels must be 1..{ImageLimits.HardMaxPixels}.");

        [CommandOption("-b|--backend <BACKEND>")]
        [Description("Inference runtime: Onnx (ONNX Runtime, the deploy path; a .munet is exported in memory) or Torch (TorchSharp eager).")]
        [DefaultValue(Backend.Onnx)]
        public Backend Backend { get; init; } = Backend.Onnx;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        MobileUNet.Platform.OutputPaths.CheckFolder(settings.Out, [settings.Model, .. settings.Inputs]);
        using var segmenter = SegmenterFactory.Open(settings.Model, settings.Backend);
        var written = Predict(segmenter, settings.Inputs.SelectMany(Inputs).ToList(), settings.Out, settings.Threshold, ImageLimits.WithMaxPixels(settings.MaxPixels));
        foreach (var (mask, overlay) in written) AnsiConsole.MarkupLineInterpolated($"{mask}  {overlay}");
        return 0;
    }

    public static IReadOnlyList<string> Inputs(string input)
    {
        if (File.Exists(input)) return [input];
        if (!Directory.Exists(input)) throw new FileNotFoundException($"{input}: no such image or folder.", input);
        var files = Directory.EnumerateFiles(input).Where(ImageFile.IsImage).Order(StringComparer.Ordinal).ToList();
        return files.Count > 0 ? files : throw new InvalidDataException($"{input}: no images (png, jpg, webp, bmp, ppm).");
    }

    /// <summary>Decodes every input first, so a bad file stops the run before any output is written.</summary>
    public static List<(string Mask, string Overlay)> Predict(ISegmenter segmenter, IReadOnlyList<string> inputs, string outDir, float threshold, ImageLimits? limits = null)
    {
        var photos = inputs.Select(p => (Path: p, Image: ImageFile.Read(p, limits))).ToList();
        var written = new List<(string, string)>();
        foreach (var (path, image) in photos)
        {
            var probabilities = ImageSegmentation.Probabilities(segmenter, image);
            var stem = Path.GetFileNameWithoutExtension(path);
            var maskPath = Path.Combine(outDir, stem + ".mask.png");
            var overlayPath = Path.Combine(outDir, stem + ".overlay.png");
            ImageFile.WriteGreyPng(maskPath, image.Width, image.Height, ImageSegmentation.MaskBytes(probabilities, threshold));
            ImageFile.WritePng(overlayPath, ImageSegmentation.Overlay(image, probabilities, threshold));
            written.Add((maskPath, overlayPath));
        }
        return written;
    }
}
