using System.ComponentModel;
using System.Globalization;
using MobileUNet.Benchmarks;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Training;
using Spectre.Console;
using Spectre.Console.Cli;
using MobileUNet.Evaluation;

namespace MobileUNet.Cli.Commands;

/// <summary>
/// `mobileunet sweep`: trains and scores every alpha x size config with one short schedule, for `recommend`.
/// The default schedule is deliberately tiny (the 16-config grid in under 15 minutes on 2 cores; 8 minutes here): it ranks the
/// configs, it does not reach their final accuracy.
/// </summary>
public sealed class SweepCommand : Command<SweepCommand.Settings>
{
    public sealed class Settings : DataSettings
    {
        [CommandOption("--alphas <LIST>")]
        [Description("Grid alphas, comma separated.")]
        [DefaultValue("1,0.75,0.5,0.25")]
        public string Alphas { get; init; } = "1,0.75,0.5,0.25";

        [CommandOption("--sizes <LIST>")]
        [Description("Grid sizes, comma separated.")]
        [DefaultValue("224,192,160,128")]
        public string Sizes { get; init; } = "224,192,160,128";

        [CommandOption("-u|--upsampling <KIND>")]
        [Description("Decoder upsampling of every config.")]
        [DefaultValue(Upsampling.TransposedConv)]
        public Upsampling Upsampling { get; init; }

        // The first 32 of the composites demo scores on (same seed): a small set keeps the 16-config sweep short.
        protected override int DefaultValCount => 32;

        [CommandOption("--epochs <N>")]
        [Description("Epochs per config (each ends with a validation pass).")]
        [DefaultValue(2)]
        public int Epochs { get; init; } = 2;

        [CommandOption("--steps <N>")]
        [Description("Optimizer steps per epoch.")]
        [DefaultValue(8)]
        public int Steps { get; init; } = 8;

        [CommandOption("--batch <N>")]
        [DefaultValue(4)]
        public int Batch { get; init; } = 4;

        [CommandOption("--lr <RATE>")]
        [Description("Peak learning rate (Adam, short warm-up, cosine).")]
        [DefaultValue(3e-3)]
        public double LearningRate { get; init; } = 3e-3;

        [CommandOption("--minutes <M>")]
        [Description("Total time budget, shared out over the configs still to train (time one leaves unused goes to the next).")]
        [DefaultValue(10.0)]
        public double? Minutes { get; init; } = 10.0;

        [CommandOption("--minutes-per-config <M>")]
        [Description("Time budget per config instead of a total (--minutes is then ignored).")]
        public double? MinutesPerConfig { get; init; }

        [CommandOption("--encoder-weights <NAME|MANIFEST|NONE>")]
        [Description("Every config's encoder starts from these pretrained weights (see train --encoder-weights), e.g. mobilenet-v1; a narrower alpha takes each layer's leading channels. Default none: from scratch.")]
        public string? EncoderWeights { get; init; }

        [CommandOption("--seed <SEED>")]
        [DefaultValue(1L)]
        public long Seed { get; init; } = 1;

        [CommandOption("--threads <N>")]
        [Description("torch intra-op threads. Default: the number of cores.")]
        public int? Threads { get; init; }

        [CommandOption("-o|--output|--out <DIR>")]
        [Description("Sweep folder: accuracy.json and one run folder (checkpoints, logs) per config. Default: runs/sweep/<UTC timestamp>. Re-running on the same folder skips the configs already scored.")]
        public string? Out { get; init; }

        public override ValidationResult Validate()
        {
            var data = base.Validate();
            if (!data.Successful) return data;
            if (Minutes is <= 0) return ValidationResult.Error("--minutes must be positive.");
            if (MinutesPerConfig is <= 0) return ValidationResult.Error("--minutes-per-config must be positive.");
            return OptionChecks.Result(OptionChecks.Schedule(Epochs, Steps, Batch, LearningRate, Threads));
        }

        public SweepPlan ToPlan(string dataset)
        {
            var specs = GridOptions.Specs(Alphas, Sizes, Upsampling);
            var template = new TrainOptions
            {
                Spec = specs.Count > 0 ? specs[0] : new ModelSpec(1, 224),
                Epochs = Epochs,
                StepsPerEpoch = Steps,
                BatchSize = Batch,
                LearningRate = LearningRate,
                // A fifth of a short schedule at most: the default 20-step warm-up would eat most of it.
                WarmupSteps = Math.Clamp(Epochs * Steps / 5, 1, 20),
                Seed = Seed,
                Threads = Threads ?? Environment.ProcessorCount,
                TimeBudget = MinutesPerConfig is { } m ? TimeSpan.FromMinutes(m) : null,
                EncoderWeights = ModelSource.PretrainedEncoderPathOrNone(EncoderWeights),
            };
            return new SweepPlan(specs, template, dataset, MinutesPerConfig is null && Minutes is { } total ? TimeSpan.FromMinutes(total) : null);
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var output = settings.Out ?? Path.Combine("runs", "sweep", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Platform.OutputPaths.CheckFolder(output, settings.Data, settings.Voc, settings.Mix);
        string dataset = settings.IsSynth
            ? $"composites of {settings.Cutouts ?? "the embedded cutouts"} over {settings.Backgrounds ?? "the embedded backgrounds"}; validation: {settings.ValCount} composites, seed {settings.ValSeed}"
            : settings.Dataset()!.Description + " (9:1 split)";
        var plan = settings.ToPlan(dataset);
        plan.Validate();
        AnsiConsole.MarkupLineInterpolated($"[bold]sweep[/]: {plan.Specs.Count} configs, {plan.Template.Epochs} x {plan.Template.StepsPerEpoch} steps of {plan.Template.BatchSize} each, {Budget(settings)}; on {dataset}");
        AnsiConsole.MarkupLine("[grey]A ranking run: the short schedule orders the configs, it does not reach their final accuracy.[/]");

        AccuracyDocument? doc = null;
        var skipped = new List<string>();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var overall = ctx.AddTask("configs", maxValue: plan.Specs.Count);
                var current = ctx.AddTask("starting", maxValue: 1);
                int lastConfig = 0;
                var progress = new SyncProgress<SweepProgress>(p =>
                {
                    if (p.Skipped) skipped.Add(p.Spec.Label);
                    overall.Value = p.Config - 1;
                    overall.Description = FormattableString.Invariant($"config {p.Config}/{p.Configs} {p.Spec.Label}{(p.Skipped ? " (scored earlier, skipped)" : "")}");
                    if (p.Training is { } t)
                    {
                        if (p.Config != lastConfig) { current.Value = 0; lastConfig = p.Config; }
                        current.MaxValue = (double)t.Epochs * t.StepsPerEpoch;
                        current.Value = (t.Epoch - 1) * (double)t.StepsPerEpoch + t.Step;
                        current.Description = TrainingView.Describe(t);
                    }
                });
                doc = Sweep.Run(plan, size => settings.TrainingData(size), output, progress, cancellationToken);
                overall.Value = overall.MaxValue;
                current.Value = current.MaxValue;
            });

        if (skipped.Count > 0)
            AnsiConsole.MarkupLineInterpolated($"skipped {skipped.Count} config(s) scored earlier in {output}: {string.Join(", ", skipped)}");
        var table = new Table().Title("accuracy (best epoch, pooled over the validation set)").AddColumns("config", "size/alpha", "IoU", "Dice", "checkpoint");
        foreach (var r in doc!.Results)
            table.AddRow(r.Spec.Label, FormattableString.Invariant($"{r.Spec.InputSize}/{r.Spec.Alpha:0.##}"),
                r.Iou.ToString("0.0000", CultureInfo.InvariantCulture), r.Dice?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "-", Markup.Escape(r.Weights ?? "-"));
        AnsiConsole.Write(table);
        var path = Path.Combine(output, Sweep.AccuracyFile);
        AnsiConsole.MarkupLineInterpolated($"wrote [bold]{path}[/]; next: recommend --bench BENCH.json --accuracy {path} --fps 30");
        return 0;
    }

    static string Budget(Settings s) => s.MinutesPerConfig is { } m
        ? FormattableString.Invariant($"at most {m} min per config")
        : FormattableString.Invariant($"{s.Minutes} min in all");

    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
