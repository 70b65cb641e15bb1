using System.Globalization;

namespace MobileUNet.Platform;

/// <summary>
/// The one place the sane maxima of every size-like option live. Each bound is far above any useful value and
/// far below the one that exhausts memory or the cores: an input side of 8192 took 10 GB in 32 s, 999 torch
/// threads on two cores took 48 s per step. A value outside is refused before any work starts.
/// </summary>
internal static class Limits
{
    /// <summary>Largest model input side: 1024 is 4.6x the original's 224 (21x the pixels).</summary>
    public const int MaxInputSize = 1024;

    /// <summary>Largest training or evaluation batch.</summary>
    public const int MaxBatch = 512;

    /// <summary>Largest count of epochs, steps per epoch, images to synthesise, timed runs or queued frames.</summary>
    public const int MaxEpochs = 100_000;
    public const int MaxSteps = 1_000_000;
    public const int MaxCount = 10_000_000;
    public const int MaxQueue = 256;

    /// <summary>Largest thread count: twice the logical cores (more only adds switching), at least 4.</summary>
    public static int MaxThreads => Math.Max(4, 2 * Environment.ProcessorCount);

    /// <summary>The error for an out-of-range integer option, or null when it is within [min, max].</summary>
    public static string? RangeError(string option, long? value, long min, long max) =>
        value is { } v && (v < min || v > max)
            ? string.Create(CultureInfo.InvariantCulture, $"{option} must be {min}..{max}, got {v}.")
            : null;

    /// <summary>The error for a value that must be positive and finite (a learning rate), or null when it is.</summary>
    public static string? PositiveError(string option, double value) =>
        value > 0 && double.IsFinite(value)
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{option} must be positive and finite, got {value}.");

    /// <summary>The error for a thread count, naming this machine's cores; <paramref name="option"/> is what the caller calls the setting.</summary>
    public static string? ThreadsError(int? threads, string option) =>
        threads is { } t && (t < 1 || t > MaxThreads)
            ? string.Create(CultureInfo.InvariantCulture, $"{option} must be 1..{MaxThreads} ({Environment.ProcessorCount} cores here), got {t}.")
            : null;

    /// <summary>The error for a probability threshold: in (0, 1), never NaN; <paramref name="option"/> names the setting.</summary>
    public static string? ThresholdError(double threshold, string option) =>
        threshold > 0 && threshold < 1
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{option} must be in (0, 1), got {threshold}.");

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when any of the messages is not null.</summary>
    public static void Check(params string?[] errors)
    {
        foreach (var e in errors)
            if (e is not null) throw new ArgumentOutOfRangeException(null, e);
    }
}
