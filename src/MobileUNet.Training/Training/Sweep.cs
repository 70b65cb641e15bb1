using MobileUNet.Data;
using MobileUNet.Model;
using MobileUNet.Evaluation;

namespace MobileUNet.Training;

/// <summary>How a sweep trains each grid config: one schedule template (its Spec is replaced per config).</summary>
/// <param name="TotalBudget">Wall-clock budget for the whole sweep: each config gets the time left divided by the configs
/// left (so time a fast config leaves unused goes to the next ones); null: the template's per-config TimeBudget.</param>
public sealed record SweepPlan(IReadOnlyList<ModelSpec> Specs, TrainOptions Template, string Dataset, TimeSpan? TotalBudget = null)
{
    public TrainOptions For(ModelSpec spec, TimeSpan elapsed, int configsLeft) => TotalBudget is { } total
        ? Template with { Spec = spec, TimeBudget = TimeSpan.FromTicks(Math.Max(0, (total - elapsed).Ticks) / Math.Max(1, configsLeft)) }
        : Template with { Spec = spec };

    public void Validate()
    {
        if (Specs.Count == 0) throw new ArgumentException("the sweep grid is empty: no alphas or no sizes.");
        if (Specs.Distinct().Count() != Specs.Count) throw new ArgumentException("the sweep grid names a config twice.");
        Template.Validate();
    }
}

/// <summary>Progress of a sweep: which config (1-based) of how many, and the current config's training progress.</summary>
public sealed record SweepProgress(int Config, int Configs, ModelSpec Spec, TrainProgress? Training, bool Skipped);

/// <summary>
/// Trains and scores every config of a grid, one run folder per config under the sweep folder, and keeps
/// accuracy.json current after each config, so an interrupted sweep resumes where it stopped: configs with a
/// result are skipped, a config with a checkpoint continues from its last finished epoch. The IoU recorded is the
/// best epoch's pooled IoU on the validation set (the same seeded set every epoch), whose checkpoint is best.munet.
/// </summary>
public static class Sweep
{
    public const string AccuracyFile = "accuracy.json";

    /// <param name="data">Training stream and validation set for an input size.</param>
    public static AccuracyDocument Run(SweepPlan plan, Func<int, (ITrainingSource Source, ISegmentationDataset Validation)> data, string sweepDir,
                                       IProgress<SweepProgress>? progress = null, CancellationToken cancel = default)
    {
        plan.Validate();
        Directory.CreateDirectory(sweepDir);
        var accuracyPath = Path.Combine(sweepDir, AccuracyFile);
        var earlier = File.Exists(accuracyPath) ? AccuracyDocument.Load(accuracyPath) : null;
        if (earlier is not null && earlier.Dataset != plan.Dataset)
            throw new InvalidDataException($"{accuracyPath}: this folder holds a sweep on '{earlier.Dataset}', not '{plan.Dataset}'; choose another -o.");
        var results = new List<AccuracyRecord>(earlier?.Results ?? []);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int configsLeft = plan.Specs.Count(s => results.All(r => r.Spec != s));
        for (int i = 0; i < plan.Specs.Count; i++)
        {
            var spec = plan.Specs[i];
            if (results.Any(r => r.Spec == spec))
            {
                progress?.Report(new SweepProgress(i + 1, plan.Specs.Count, spec, null, Skipped: true));
                continue;
            }
            var runDir = RunDirectory(sweepDir, spec);
            bool resume = File.Exists(Path.Combine(runDir, Checkpoint.Last));
            var (source, validation) = data(spec.InputSize);
            var options = plan.For(spec, clock.Elapsed, configsLeft--);
            var perConfig = new Progress(p => progress?.Report(new SweepProgress(i + 1, plan.Specs.Count, spec, p, Skipped: false)));
            var result = new Trainer(options, source, validation, Normalization.ImageNet).Run(runDir, resume, perConfig, cancel);
            var best = result.History.Single(h => h.Epoch == result.BestEpoch);
            results.Add(new AccuracyRecord(spec, best.ValidationIoU, best.ValidationDice,
                                           Path.GetRelativePath(sweepDir, result.BestCheckpoint).Replace('\\', '/')));
            new AccuracyDocument(AccuracyDocument.CurrentSchema, plan.Dataset, results).Save(accuracyPath);
        }
        // Grid order, whatever order the configs finished in across resumes.
        var ordered = new AccuracyDocument(AccuracyDocument.CurrentSchema, plan.Dataset,
            [.. results.OrderBy(r => IndexIn(plan.Specs, r.Spec))]);
        ordered.Save(accuracyPath);
        return ordered;
    }

    /// <summary>The config's run folder, e.g. sweep/a0.5-s128.</summary>
    public static string RunDirectory(string sweepDir, ModelSpec spec) => Path.Combine(sweepDir, spec.Label);

    static int IndexIn(IReadOnlyList<ModelSpec> specs, ModelSpec spec)
    {
        for (int i = 0; i < specs.Count; i++) if (specs[i] == spec) return i;
        return int.MaxValue; // from an earlier, wider sweep in the same folder: kept, listed last
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class Progress(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}
