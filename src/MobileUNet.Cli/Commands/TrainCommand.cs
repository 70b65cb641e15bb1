using System.ComponentModel;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Platform;
using MobileUNet.Training;
using Spectre.Console;
using Spectre.Console.Cli;
using MobileUNet.Data;

namespace MobileUNet.Cli.Commands;

public sealed class TrainCommand : Command<TrainCommand.Settings>
{
    public class Settings : DataSettings
    {
        [CommandOption("-a|--alpha <ALPHA>")]
        [Description("Width multiplier in (0, 1]]. Default 0.5, or with --init that model's.")]
        public double? Alpha { get; init; }

        [CommandOption("--alpha-up <ALPHA>")]
        [Description("Decoder width multiplier in (0, 1]] (the 2017 original's alpha_up). Default: --alpha, or with --init that model's.")]
        public double? AlphaUp { get; init; }

        [CommandOption("-s|--size <SIZE>")]
        [Description("Input size (multiple of 32). Default 128, or with --init that model's (weights fit any size: --init person --size 160 fine-tunes at 160).")]
        public int? Size { get; init; }

        [CommandOption("-u|--upsampling <KIND>")]
        [Description("Decoder upsampling: TransposedConv, BilinearConv or NearestConv. Default TransposedConv, or with --init that model's.")]
        public Upsampling? Upsampling { get; init; }

        [CommandOption("--epochs <N>")]
        [DefaultValue(12)]
        public int Epochs { get; init; } = 12;

        [CommandOption("--steps <N>")]
        [Description("Optimizer steps per epoch.")]
        [DefaultValue(40)]
        public int Steps { get; init; } = 40;

        [CommandOption("--batch <N>")]
        [DefaultValue(16)]
        public int Batch { get; init; } = 16;

        [CommandOption("--lr <RATE>")]
        [Description("Peak learning rate.")]
        [DefaultValue(3e-3)]
        public double LearningRate { get; init; } = 3e-3;

        [CommandOption("--optimizer <KIND>")]
        [Description("Adam or Sgd (with --momentum).")]
        [DefaultValue(OptimizerKind.Adam)]
        public OptimizerKind Optimizer { get; init; }

        [CommandOption("--momentum <M>")]
        [DefaultValue(0.9)]
        public double Momentum { get; init; } = 0.9;

        [CommandOption("--schedule <KIND>")]
        [Description("Cosine, Step (x0.1 every --step-every epochs) or Constant; all after a short warm-up.")]
        [DefaultValue(ScheduleKind.Cosine)]
        public ScheduleKind Schedule { get; init; }

        [CommandOption("--step-every <EPOCHS>")]
        [DefaultValue(5)]
        public int StepEvery { get; init; } = 5;

        [CommandOption("--dice <OVER>")]
        [Description("The loss's Dice term: Batch (the batch's pixels pooled) or Image (each image's, averaged: small foregrounds weigh as much as large ones). Default Batch.")]
        [DefaultValue(DiceOver.Batch)]
        public DiceOver Dice { get; init; } = DiceOver.Batch;

        [CommandOption("--seed <SEED>")]
        [DefaultValue(1L)]
        public long Seed { get; init; } = 1;

        [CommandOption("--threads <N>")]
        [Description("torch intra-op threads. Default: the number of cores.")]
        public int? Threads { get; init; }

        [CommandOption("--minutes <M>")]
        [Description("Time budget: no new epoch starts that would end past it.")]
        public double? Minutes { get; init; }

        [CommandOption("-o|--output|--out <DIR>")]
        [Description("Run folder for checkpoints, logs and the chart.")]
        [DefaultValue("runs/train")]
        public string Out { get; init; } = "runs/train";

        [CommandOption("--init <NAME|PATH>")]
        [Description("Fine-tune: start from a shipped model (person, person-160, hair) or a saved .munet of the same alpha and upsampling (any size). With an --alpha below the model's own, start narrower from it: every layer keeps the channels its batch norm scales most (structured pruning), and the run trains on from there.")]
        public string? Init { get; init; }

        [CommandOption("--encoder-weights <NAME|PATH|NONE>")]
        [Description("Start the encoder from a pretrained MobileNet v1: the shipped mobilenet-v1 (face-api's width-1.0 backbone, MIT; models/encoders/), or a TF.js weights manifest (.json, shards beside it; e.g. PoseNet's backbone, written by scripts/vendor-posenet-encoder.sh); width 1.0 fits --alpha 1, a narrower model takes each layer's leading channels (measured to pay at 0.5: models/hair.md), a wider layer takes the pretrained one in its leading channels. Or from a trained model's encoder: a shipped model's name (person, hair) or a .munet of the same --alpha, its decoder left fresh (for another --alpha-up). Default none: from scratch.")]
        public string? EncoderWeights { get; init; }

        [CommandOption("--zoom <MIN,MAX>")]
        [Description("Real photos (--data, --voc, --lfw-*, --mix): the scale-crop's zoom range, 1 = the whole photo's shorter side, 2 = half of it. Default 0.9,1.6.")]
        [DefaultValue("0.9,1.6")]
        public string Zoom { get; init; } = "0.9,1.6";

        [CommandOption("--rotation <DEGREES>")]
        [Description("Real photos: the largest random rotation, either way. Default 15.")]
        [DefaultValue(15.0)]
        public double Rotation { get; init; } = 15;

        [CommandOption("--antialias")]
        [Description("Train on antialiased inputs: a photo, background or cut-out drawn smaller than its own size is first shrunk to that scale with a triangle filter (as PIL's bilinear resize), instead of two-tap samples that skip pixels. Default off: measured no better for person (models/person.md).")]
        public bool Antialias { get; init; }

        [CommandOption("--resume")]
        [Description("Continue the run in --output from its last finished epoch.")]
        public bool Resume { get; init; }

        public override ValidationResult Validate() => base.Validate().Then(
        [
            Size is { } size ? ModelSpec.InputSizeError(size, "--size") : null,
            AlphaUp is { } up && !(up > 0 && up <= 1) ? FormattableString.Invariant($"--alpha-up must be in (0, 1], got {up}.") : null,
            .. OptionChecks.Schedule(Epochs, Steps, Batch, LearningRate, Threads),
            Minutes is { } m && !(m > 0 && m <= 60 * 24 * 365) ? FormattableString.Invariant($"--minutes must be a positive number of minutes, got {m}.") : null,
            Limits.RangeError("--step-every", StepEvery, 1, Limits.MaxEpochs),
            TrainOptions.StartingWeightsError(Init, EncoderWeights, "--init", "--encoder-weights"),
            ZoomError(),
            Rotation is >= 0 and <= 180 ? null : FormattableString.Invariant($"--rotation must be 0..180 degrees, got {Rotation}."),
        ]);

        /// <summary>How real photos are augmented: <see cref="AugmentOptions.RealPhotos"/> with --zoom and --rotation.</summary>
        public AugmentOptions RealPhotoAugmentation()
        {
            if (ZoomError() is { } error) throw new ArgumentException(error);
            OptionChecks.TryNumbers(Zoom, 2, out var zoom);
            return AugmentOptions.RealPhotos with { MinZoom = zoom[0], MaxZoom = zoom[1], MaxRotationDegrees = Rotation, AntialiasSources = Antialias };
        }

        string? ZoomError() =>
            !OptionChecks.TryNumbers(Zoom, 2, out var zoom) ? $"--zoom takes MIN,MAX (for example 0.9,1.6), got '{Zoom}'."
            : zoom[0] is >= 0.25 and <= 4 && zoom[1] >= zoom[0] && zoom[1] <= 4 ? null
            : FormattableString.Invariant($"--zoom must satisfy 0.25 <= MIN <= MAX <= 4, got {zoom[0]},{zoom[1]}.");

        public TrainOptions ToOptions()
        {
            var init = Init is null ? null : ModelSource.Parse(Init).TrainableWeights();
            return new()
            {
                Spec = Spec(init is null ? null : WeightsFormat.ReadHeader(init).Spec),
                Epochs = Epochs,
                StepsPerEpoch = Steps,
                BatchSize = Batch,
                LearningRate = LearningRate,
                Optimizer = Optimizer,
                Momentum = Momentum,
                Schedule = Schedule,
                StepEveryEpochs = StepEvery,
                Seed = Seed,
                Dice = Dice,
                Threads = Threads ?? Environment.ProcessorCount,
                TimeBudget = Minutes is { } m ? TimeSpan.FromMinutes(m) : null,
                InitWeights = init,
                EncoderWeights = ModelSource.PretrainedEncoderPathOrNone(EncoderWeights),
            };
        }

        // The network: the flags given, and for those left out the --init model's own (fine-tuning a shipped model needs
        // no flags restated) or else the defaults, alpha 0.5 at 128 with transposed convolutions.
        ModelSpec Spec(ModelSpec? init) =>
            new(Alpha ?? init?.Alpha ?? 0.5, Size ?? init?.InputSize ?? 128,
                Upsampling ?? init?.Upsampling ?? Model.Upsampling.TransposedConv, AlphaUp ?? (Alpha is null ? init?.AlphaUp : null));
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // Output problems surface now, not after the first epoch; the checkpoints must not overwrite --init.
        OutputPaths.CheckFolder(settings.Out, settings.Init, settings.Data, settings.Voc, settings.Mix, settings.EncoderWeights);
        OutputPaths.CheckFile(Path.Combine(settings.Out, Checkpoint.Best), settings.Init);
        OutputPaths.CheckFile(Path.Combine(settings.Out, Checkpoint.Last), settings.Init);
        if (!settings.Resume && File.Exists(Path.Combine(settings.Out, Checkpoint.Last)))
            throw new InvalidOperationException($"{Path.Combine(settings.Out, Checkpoint.Last)}: the run folder already holds a checkpoint; pass --resume to continue it or choose another output folder.");
        var options = settings.ToOptions();
        options.Validate();
        var (source, validation) = settings.TrainingData(options.Spec.InputSize, settings.RealPhotoAugmentation());
        AnsiConsole.MarkupLineInterpolated($"training {options.Spec.Label} on {source.Description}; validating on {validation.Description}");
        if (settings.Resume && File.Exists(Path.Combine(settings.Out, Checkpoint.Last)))
            AnsiConsole.MarkupLineInterpolated($"resuming after epoch {Checkpoint.ReadState(Path.Combine(settings.Out, Checkpoint.Last)).Epoch}");
        var result = TrainingView.Run(new Trainer(options, source, validation, Normalization.ImageNet), options, settings.Out, settings.Resume, cancellationToken);
        TrainingView.PrintHistory(result);
        AnsiConsole.MarkupLineInterpolated($"checkpoints: {result.BestCheckpoint} (best), {result.LastCheckpoint} (last); logs: {Path.Combine(settings.Out, TrainingLog.Csv)}, {Path.Combine(settings.Out, TrainingLog.Chart)}");
        return 0;
    }
}
