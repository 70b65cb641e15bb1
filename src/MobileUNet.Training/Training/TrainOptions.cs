using System.Text.Json.Serialization;
using MobileUNet.Data;
using MobileUNet.Model;
using MobileUNet.Platform;

namespace MobileUNet.Training;

[JsonConverter(typeof(JsonStringEnumConverter<OptimizerKind>))]
public enum OptimizerKind { Adam, Sgd }

[JsonConverter(typeof(JsonStringEnumConverter<ScheduleKind>))]
public enum ScheduleKind { Cosine, Step, Constant }

/// <summary>What the loss's Dice term scores: the batch's pixels pooled, or each image on its own (then averaged),
/// which weighs an image with a small foreground as much as one with a large one, as a per-image mean IoU does.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DiceOver>))]
public enum DiceOver { Batch, Image }

/// <summary>Everything that decides a training run; recorded in the checkpoint so a resume can check it matches.</summary>
public sealed record TrainOptions
{
    public required ModelSpec Spec { get; init; }
    public int Epochs { get; init; } = 10;
    public int StepsPerEpoch { get; init; } = 50;
    public int BatchSize { get; init; } = 16;
    public double LearningRate { get; init; } = 2e-3;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; }
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    /// <summary>Step schedule: multiply the rate by <see cref="StepGamma"/> every this many epochs.</summary>
    public int StepEveryEpochs { get; init; } = 5;
    public double StepGamma { get; init; } = 0.1;
    /// <summary>Warm-up steps at the start (linear ramp), which keeps Adam's first updates from wrecking BN statistics.</summary>
    public int WarmupSteps { get; init; } = 20;
    public long Seed { get; init; } = 1;
    /// <summary>The Dice term over the batch (default) or per image (<see cref="DiceOver"/>).</summary>
    public DiceOver Dice { get; init; } = DiceOver.Batch;
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>
    /// Wall-clock budget: after epoch 2 the epoch count is refitted to it (up or down), and no epoch starts that
    /// would run past it. Without a budget, <see cref="Epochs"/> is exact.
    /// </summary>
    public TimeSpan? TimeBudget { get; init; }
    /// <summary>A .munet whose weights start the run (fine-tuning) instead of a fresh initialisation.</summary>
    public string? InitWeights { get; init; }
    /// <summary>A TF.js weights manifest of a pretrained MobileNet v1 that starts the encoder (<see cref="Model.PretrainedEncoder"/>).</summary>
    public string? EncoderWeights { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first property out of range.</summary>
    public void Validate() => Limits.Check(
        Limits.RangeError(nameof(Epochs), Epochs, 1, Limits.MaxEpochs),
        Limits.RangeError(nameof(StepsPerEpoch), StepsPerEpoch, 1, Limits.MaxSteps),
        Limits.RangeError(nameof(BatchSize), BatchSize, 1, Limits.MaxBatch),
        Limits.PositiveError(nameof(LearningRate), LearningRate),
        Limits.ThreadsError(Threads, nameof(Threads)),
        TimeBudget is { } budget && budget < TimeSpan.Zero ? FormattableString.Invariant($"{nameof(TimeBudget)} must be positive, got {budget}.") : null,
        Limits.RangeError(nameof(StepEveryEpochs), StepEveryEpochs, 1, Limits.MaxEpochs),
        StartingWeightsError(InitWeights, EncoderWeights, nameof(InitWeights), nameof(EncoderWeights)));

    /// <summary>The error when both ways of choosing the starting weights are given, or null.</summary>
    internal static string? StartingWeightsError(string? init, string? encoderWeights, string initName, string encoderWeightsName) =>
        init is not null && encoderWeights is not null ? $"{initName} and {encoderWeightsName} both choose the starting weights; give one." : null;
}

/// <summary>Where training samples come from: each is an S x S photo + mask, a pure function of (seed, index).</summary>
public interface ITrainingSource
{
    string Description { get; }
    SegmentationSample Sample(long seed, long index);
}

/// <summary>The unbounded composite stream.</summary>
public sealed class SynthTrainingSource(CompositeSynthesizer synthesizer) : ITrainingSource
{
    public string Description => $"composites ({synthesizer.Size}px, unbounded)";
    public SegmentationSample Sample(long seed, long index) => synthesizer.Generate(seed, index);
}

/// <summary>A finite dataset drawn at random with augmentation (zoom, rotation, flip, colour) to S x S.</summary>
public sealed class AugmentedDatasetSource(ISegmentationDataset dataset, int size, AugmentOptions? augment = null) : ITrainingSource
{
    readonly AugmentOptions augment = augment ?? AugmentOptions.Default;
    public string Description => dataset.Description + " with augmentation";

    public SegmentationSample Sample(long seed, long index)
    {
        var rng = SampleRandom.For(seed, 3, index);
        return Augmenter.Apply(dataset.Load(rng.Next(dataset.Count)), size, augment, rng);
    }
}

/// <summary>
/// Draws each training sample from one of several sources with fixed shares (e.g. composites and teacher-labelled
/// real photos); which source serves sample k is itself a function of (seed, k), so resumes repeat exactly.
/// </summary>
public sealed class MixedTrainingSource : ITrainingSource
{
    readonly (ITrainingSource Source, double Share)[] parts;

    public MixedTrainingSource(params (ITrainingSource Source, double Share)[] parts)
    {
        if (parts.Length == 0 || parts.Any(p => !(p.Share >= 0)) || !(parts.Sum(p => p.Share) > 0))
            throw new ArgumentException("a training mixture needs at least one source with a positive share.", nameof(parts));
        this.parts = parts;
    }

    public string Description => string.Join(" + ", parts.Select(p => FormattableString.Invariant($"{p.Share / parts.Sum(q => q.Share):P0} {p.Source.Description}")));

    public SegmentationSample Sample(long seed, long index)
    {
        double u = SampleRandom.For(seed, 4, index).NextDouble() * parts.Sum(p => p.Share);
        foreach (var (source, share) in parts)
            if ((u -= share) < 0) return source.Sample(seed, index);
        return parts[^1].Source.Sample(seed, index);
    }
}
