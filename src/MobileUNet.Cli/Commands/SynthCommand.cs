using System.ComponentModel;
using MobileUNet.Data;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

/// <summary>`data synth`: writes composites as a folder-pairs dataset (images/ + masks/).</summary>
public sealed class SynthCommand : Command<SynthCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--cutouts <DIR>")]
        [Description("RGBA cutouts (default: the embedded ones).")]
        public string? Cutouts { get; init; }

        [CommandOption("--backgrounds <DIR>")]
        [Description("Background photos (default: the embedded ones).")]
        public string? Backgrounds { get; init; }

        [CommandOption("-o|--out <DIR>")]
        [Description("Output dataset folder (gets images/ and masks/).")]
        public string Out { get; init; } = "";

        [CommandOption("--count <N>")]
        [DefaultValue(100)]
        public int Count { get; init; } = 100;

        [CommandOption("--size <S>")]
        [DefaultValue(128)]
        public int Size { get; init; } = 128;

        [CommandOption("--plain")]
        [Description("Draw the original plain composites (as the seeded validation sets) instead of the training kind (realism pass: scales, portraits, several people, harmonised colour, feathered edges, camera effects).")]
        public bool Plain { get; init; }

        [CommandOption("--seed <SEED>")]
        [DefaultValue(1L)]
        public long Seed { get; init; } = 1;

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Out) ? ValidationResult.Error("--out is required.")
            : Count < 1 ? ValidationResult.Error("--count must be at least 1.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var synth = CompositeSynthesizer.FromFolders(settings.Cutouts ?? DefaultData.Cutouts, settings.Backgrounds ?? DefaultData.Backgrounds, settings.Size,
            settings.Plain ? SynthOptions.Default : SynthOptions.Training);
        AnsiConsole.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask("compositing", maxValue: settings.Count);
            for (int i = 0; i < settings.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var sample = synth.Generate(settings.Seed, i);
                var name = FormattableString.Invariant($"{i:D6}.png");
                ImageFile.WritePng(Path.Combine(settings.Out, "images", name), sample.Image);
                ImageFile.WriteGreyPng(Path.Combine(settings.Out, "masks", name), settings.Size, settings.Size,
                    [.. sample.Mask.Labels.Select(l => l == Mask.Foreground ? (byte)255 : (byte)0)]);
                task.Increment(1);
            }
        });
        AnsiConsole.MarkupLineInterpolated($"wrote {settings.Count} composites to {Path.Combine(settings.Out, "images")} and {Path.Combine(settings.Out, "masks")}");
        return 0;
    }
}
