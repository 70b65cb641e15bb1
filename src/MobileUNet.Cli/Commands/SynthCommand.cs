using System.ComponentModel;
using MobileUNet.Data;
using MobileUNet.Platform;
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

        [CommandOption("-o|--output|--out <DIR>")]
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

        [CommandOption("--overwrite")]
        [Description("Replace a non-empty --output folder (otherwise refused, so two datasets never mix).")]
        public bool Overwrite { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrEmpty(Out) ? ValidationResult.Error("--output is required.")
            : OptionChecks.Result(
                Limits.RangeError("--count", Count, 1, Limits.MaxCount),
                Limits.RangeError("--size", Size, 8, Limits.MaxInputSize));
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        OutputPaths.CheckFolder(settings.Out, settings.Cutouts, settings.Backgrounds);
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(settings.Out));
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any() && !settings.Overwrite)
            throw new IOException($"{settings.Out}: the folder is not empty; pass --overwrite to replace it, or choose a new folder.");
        var synth = CompositeSynthesizer.FromFolders(settings.Cutouts ?? DefaultData.Cutouts, settings.Backgrounds ?? DefaultData.Backgrounds, settings.Size,
            settings.Plain ? SynthOptions.Default : SynthOptions.Training);
        // Everything goes to a temp folder beside the target, renamed into place only when complete: a failure
        // (disk full, Ctrl-C) leaves no partial dataset that `train` would then use.
        DatasetFolder.WriteAtomically(target, settings.Overwrite, temp => AnsiConsole.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask("compositing", maxValue: settings.Count);
            for (int i = 0; i < settings.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var sample = synth.Generate(settings.Seed, i);
                var name = FormattableString.Invariant($"{i:D6}.png");
                ImageFile.WritePng(Path.Combine(temp, "images", name), sample.Image);
                ImageFile.WriteGreyPng(Path.Combine(temp, "masks", name), settings.Size, settings.Size,
                    [.. sample.Mask.Labels.Select(l => l == Mask.Foreground ? (byte)255 : (byte)0)]);
                task.Increment(1);
            }
        }));
        AnsiConsole.MarkupLineInterpolated($"wrote {settings.Count} composites to {Path.Combine(settings.Out, "images")} and {Path.Combine(settings.Out, "masks")}");
        return 0;
    }
}
